import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs test-node/harness.test.mjs with `node --test`, against the built package (`pnpm test`
 * builds first), with vitest made unresolvable: the harness must work for projects without vitest.
 */
describe('@cloudbus/core/testing under node --test', () => {
  it('loads without vitest and its tests pass', async () => {
    const run = await promisify(execFile)(process.execPath, ['--import', './test-node/forbid-vitest.mjs', '--test', 'test-node/harness.test.mjs'], {
      cwd: packageRoot,
      env: { ...process.env, NODE_OPTIONS: '' },
    }).catch((error: { stdout?: string; stderr?: string; code?: number }) => error);
    const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    expect(output).toMatch(/# pass 2\n# fail 0/);
  });
});
