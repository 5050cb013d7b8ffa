import { defineConfig, mergeConfig } from 'vitest/config';

import base from './vitest.config.js';

/** Tests that restart brokers or kill processes: alone, one file at a time, after the main suite. */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['packages/*/src/**/*.destructive.spec.ts', 'apps/*/src/**/*.destructive.spec.ts', 'test/src/**/*.destructive.spec.ts'],
      exclude: ['**/node_modules/**', '**/dist/**'],
      fileParallelism: false,
      testTimeout: 300_000,
      hookTimeout: 300_000,
    },
  }),
  true,
);
