import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One row of the results table. */
export interface FaultResult {
  readonly fault: string;
  readonly broker: string;
  readonly messages: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly deadLettered: number;
  /** `held`, or what broke. */
  readonly result: string;
}

/** Where the rows of the current run go (`FAULTS_RESULTS_DIR`, default `test/faults/results`). */
export function resultsDir(): string {
  return process.env['FAULTS_RESULTS_DIR'] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'results');
}

const rowsFile = () => join(resultsDir(), 'results.jsonl');

/** Starts a new run: forgets the rows of the previous one. */
export function resetResults(): void {
  mkdirSync(resultsDir(), { recursive: true });
  writeFileSync(rowsFile(), '');
}

/** Adds a row (appends: workers of one run write to the same file). */
export function recordResult(row: FaultResult): void {
  mkdirSync(resultsDir(), { recursive: true });
  appendFileSync(rowsFile(), `${JSON.stringify(row)}\n`);
}

/** Reads the rows of the run, merging repetitions of a case (long mode) into one row each. */
export function readResults(): FaultResult[] {
  let text = '';
  try {
    text = readFileSync(rowsFile(), 'utf8');
  } catch {
    return [];
  }
  const merged = new Map<string, FaultResult & { runs: number; failures: string[]; notes: string[] }>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const row = JSON.parse(line) as FaultResult;
    const key = `${row.fault}\u0000${row.broker}`;
    const previous = merged.get(key);
    // `held` or `held; <note>` (a loss the broker's own durability explains, for example).
    const held = row.result === 'held' || row.result.startsWith('held; ');
    const failures = held ? [] : [row.result];
    const notes = held && row.result !== 'held' ? [row.result.slice('held; '.length)] : [];
    if (previous === undefined) {
      merged.set(key, { ...row, runs: 1, failures, notes });
    } else {
      merged.set(key, {
        ...previous,
        messages: previous.messages + row.messages,
        lost: previous.lost + row.lost,
        duplicated: previous.duplicated + row.duplicated,
        deadLettered: previous.deadLettered + row.deadLettered,
        runs: previous.runs + 1,
        failures: [...previous.failures, ...failures],
        notes: [...previous.notes, ...notes],
      });
    }
  }
  return [...merged.values()].map(({ runs, failures, notes, ...row }) => {
    const held = runs > 1 ? `held (${runs} runs)` : 'held';
    return {
      ...row,
      result: failures.length === 0 ? [held, ...notes].join('; ') : `FAILED ${failures.length}/${runs}: ${failures[0]!}`,
    };
  });
}

/** The run's table, in Markdown. */
export function renderResults(rows: readonly FaultResult[], heading: string): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    heading,
    '',
    '| fault | broker | messages | lost | duplicated | dead-lettered | result |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...[...rows]
      .sort((a, b) => a.fault.localeCompare(b.fault, 'en', { numeric: true }) || a.broker.localeCompare(b.broker))
      .map((r) => `| ${escape(r.fault)} | ${r.broker} | ${r.messages} | ${r.lost} | ${r.duplicated} | ${r.deadLettered} | ${escape(r.result)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Writes `results/latest.md` from the run's rows; returns its path. */
export function writeResultsTable(heading: string): string {
  const path = join(resultsDir(), 'latest.md');
  writeFileSync(path, renderResults(readResults(), heading));
  return path;
}
