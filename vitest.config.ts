import { defineConfig } from 'vitest/config';

import { globalSetup, shared, testEnv, testRoots } from './vitest.shared.js';

/**
 * The main suite: unit tests (*.spec.ts) and integration tests against the real brokers
 * (*.int.spec.ts). Tests that restart a broker or kill processes (*.destructive.spec.ts) never run
 * here, beside other tests: vitest.destructive.config.ts runs them afterwards, one file at a time.
 */
export default defineConfig({
  ...shared,
  test: {
    include: testRoots.map((root) => `${root}*.spec.ts`),
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.destructive.spec.ts'],
    globalSetup,
    env: testEnv,
    // A page or a broker on a loaded 2-core machine can take more than expect.poll's default 1 s.
    expect: { poll: { timeout: 15_000 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
