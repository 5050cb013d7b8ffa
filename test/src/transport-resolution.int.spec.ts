import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { brokerUrl } from '@cloudbus/test/brokers';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./fixtures/bus-by-name.mjs', import.meta.url));
// As a user's shell runs it: without the NODE_PATH pnpm sets for scripts, which sees every package.
const options = { cwd: tmpdir(), timeout: 30_000, env: { ...process.env, NODE_PATH: '' } };

describe('a transport named in the options', () => {
  const url = brokerUrl('mqtt');

  it.skipIf(!url)('is found among the application’s own packages, whatever the working directory', async () => {
    // The script's package (this one) depends on the transport; core and the working directory do not.
    const { stdout } = await run(process.execPath, [script, 'mqtt', url!], options);
    expect(stdout.trim()).toBe('mqtt');
  });

  it('is refused with the closest known name when the application has no such package', async () => {
    const result = await run(process.execPath, [script, 'rabitmq'], options).catch((error: { stdout: string }) => error);
    expect(result.stdout).toMatch(/UnknownTransportError: .*rabbitmq/);
  });
});
