import { fileURLToPath } from 'node:url';

import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

import { shared } from '../../vitest.shared.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const long = process.env['FAULTS_LONG'] === '1';
/** `steady`: only the cases that leave the brokers running; `destructive`: only the others; unset: all. */
const phase = process.env['FAULTS_PHASE'];
const cases = 'test/faults/src/**/*.spec.ts';
const destructiveCases = 'test/faults/src/**/*.destructive.spec.ts';

/** Runs the battery one file at a time, the broker-restart files last. */
class DestructiveLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const destructive = (file: TestSpecification) => (file.moduleId.endsWith('.destructive.spec.ts') ? 1 : 0);
    return [...sorted].sort((a, b) => destructive(a) - destructive(b) || a.moduleId.localeCompare(b.moduleId));
  }
}

/**
 * The fault battery (test/faults): real faults against the real brokers, checked with a ledger.
 * Quick by default; FAULTS_LONG=1 (or `pnpm test:faults --long`) repeats each case with random
 * timing. Files run one at a time (they restart brokers and kill processes); each run writes
 * test/faults/results/latest.md. `run-faults.mjs` runs the steady files per target side by side
 * (FAULTS_PHASE=steady), then the destructive ones (FAULTS_PHASE=destructive).
 */
export default defineConfig({
  ...shared,
  root,
  test: {
    include: [phase === 'destructive' ? destructiveCases : cases],
    exclude: ['**/node_modules/**', '**/dist/**', ...(phase === 'steady' ? [destructiveCases] : [])],
    globalSetup: ['test/support/src/global-setup.ts', 'test/faults/src/global-setup.ts'],
    fileParallelism: false,
    sequence: { sequencer: DestructiveLast },
    testTimeout: long ? 1_800_000 : 300_000,
    hookTimeout: 300_000,
  },
});
