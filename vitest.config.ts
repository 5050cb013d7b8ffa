import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources in tests (the "@cloudbus/source" export
// condition), so tests never run against stale builds.
const conditions = ['@cloudbus/source', 'node', 'import', 'default'];

/**
 * The main suite: unit tests (*.spec.ts) and integration tests against the real brokers
 * (*.int.spec.ts). Tests that restart a broker or kill processes (*.destructive.spec.ts) never run
 * here, beside other tests: vitest.destructive.config.ts runs them afterwards, one file at a time.
 */
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/*/src/**/*.spec.ts', 'apps/*/src/**/*.spec.ts', 'test/src/**/*.spec.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.destructive.spec.ts'],
    globalSetup: ['test/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
