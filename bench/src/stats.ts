/** Median and spread of repeated measurements. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max - min) / median, as a fraction. */
  readonly spread: number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  return { median, min, max, spread: median === 0 ? 0 : (max - min) / median };
}

/** Runs `measure` `repeats` times, reporting progress, and summarises the results. */
export async function repeat(label: string, repeats: number, measure: () => Promise<number> | number): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    process.stderr.write(`\r  ${label}: run ${i + 1}/${repeats}   `);
    samples.push(await measure());
  }
  process.stderr.write('\r' + ' '.repeat(label.length + 24) + '\r');
  return summarize(samples);
}

export function formatNumber(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** The `p`-th percentile (0-100) of ascending `sorted` samples, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new Error('percentile: no samples');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
