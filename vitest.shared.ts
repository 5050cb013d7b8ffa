import type { ViteUserConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources in tests (the "@cloudbus/source" export
// condition), so tests never run against stale builds.
// Vite always adds import/require/default itself; listing 'import' here would also reach the
// workers as --conditions import and make Node's require() load ESM builds.
const conditions = ['@cloudbus/source', 'node'];

/** Settings both test configurations share. */
export const shared: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@cloudbus/source'] } },
};

/** Where tests live. */
export const testRoots = ['packages/*/src/**/', 'apps/*/src/**/', 'test/src/**/', 'bench/src/**/'];

/** Finds the broker endpoints once per run; see test/support/src/brokers.ts. */
export const globalSetup = ['test/support/src/global-setup.ts'];

/**
 * The environment of test workers: buses log errors only (CLOUDBUS_LOG_LEVEL), unless the run sets
 * a level; tests that check log lines give the bus a logger of their own.
 */
export const testEnv: Record<string, string> = { CLOUDBUS_LOG_LEVEL: process.env['CLOUDBUS_LOG_LEVEL'] ?? 'error' };
