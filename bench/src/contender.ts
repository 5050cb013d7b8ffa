import { randomBytes } from 'node:crypto';

import type { RunResult } from './windowed-run.js';

/** One side of a comparison: sets itself up on fresh names, runs once, cleans up. */
export interface Contender {
  /** Row label in the table. */
  readonly name: string;
  /** Publishes and consumes `total` messages with at most `window` in flight; deletes what it declared. */
  run(total: number, window: number): Promise<RunResult>;
}

/** A name no other run (nor a test running in parallel) uses: `bench-<pid>-<random>`. */
export function uniqueName(prefix = 'bench'): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
