import { defineConfig } from 'vitest/config';

import { globalSetup, shared, testEnv, testRoots } from './vitest.shared.js';

/** Tests that restart brokers or kill processes: alone, one file at a time, after the main suite. */
export default defineConfig({
  ...shared,
  test: {
    include: testRoots.map((root) => `${root}*.destructive.spec.ts`),
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup,
    env: testEnv,
    // A page or a broker on a loaded 2-core machine can take more than expect.poll's default 1 s.
    expect: { poll: { timeout: 15_000 } },
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
