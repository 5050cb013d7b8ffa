import { resetResults, writeResultsTable } from './infrastructure/results.js';

/**
 * Vitest global setup of the fault battery: a fresh results file per run (unless
 * FAULTS_RESULTS_APPEND=1: `run-faults.mjs` starts several vitest processes for one run), the
 * table written at the end.
 */
export function setup(): void {
  if (process.env['FAULTS_RESULTS_APPEND'] !== '1') resetResults();
}

export function teardown(): void {
  const mode = process.env['FAULTS_LONG'] === '1' ? `long mode, ${process.env['FAULTS_REPEAT'] ?? '5'} runs per case` : 'quick mode';
  const path = writeResultsTable(`## Fault battery, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC (${mode})`);
  console.log(`[faults] results table: ${path}`);
}
