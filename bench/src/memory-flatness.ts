import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import type { OrderPlaced } from './order-placed.js';
import { BATCH, type Dispatcher } from './in-memory/dispatch-run.js';

/** What memory did over a long run. */
export interface MemoryTrend {
  readonly events: number;
  /** Resident set size after warm-up and at the end, bytes. */
  readonly rssStart: number;
  readonly rssEnd: number;
  /** Growth of the heap live after a full GC, per event, fitted over the samples (least squares), bytes. */
  readonly heapBytesPerEvent: number;
  /** Growth of RSS per event, fitted the same way, bytes. */
  readonly rssBytesPerEvent: number;
  readonly samples: number;
}

// A full GC before each sample, so the heap figure is what is still referenced, not garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const meanX = xs.reduce((a, b) => a + b, 0) / n;
  const meanY = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - meanX) * (ys[i]! - meanY);
    den += (xs[i]! - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * Sends `rounds` rounds of `events` through one dispatcher kept running (after a warm-up round),
 * sampling RSS and the heap still live after a full GC at the end of each round. A leak of a few
 * bytes per event shows as a positive slope; flat is what we want.
 */
export async function memoryTrend(dispatcher: Dispatcher, events: readonly OrderPlaced[], rounds: number): Promise<MemoryTrend> {
  let handled = 0;
  let target = 0;
  let roundDone: (() => void) | undefined;
  await dispatcher.start(() => {
    if (++handled === target) roundDone?.();
  });
  const xs: number[] = [];
  const heap: number[] = [];
  const rss: number[] = [];
  try {
    for (let round = 0; round <= rounds; round++) {
      process.stderr.write(`\r  memory: round ${round}/${rounds}   `);
      target += events.length;
      const done = new Promise<void>((resolve) => (roundDone = resolve));
      for (let i = 0; i < events.length; i += BATCH) {
        await dispatcher.dispatch(events.slice(i, i + BATCH));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await done;
      if (round === 0) continue; // warm-up: JIT, pools and caches reach their size first
      gc();
      const usage = process.memoryUsage();
      xs.push(round * events.length);
      heap.push(usage.heapUsed);
      rss.push(usage.rss);
    }
  } finally {
    process.stderr.write('\r' + ' '.repeat(40) + '\r');
    await dispatcher.stop();
  }
  return {
    events: rounds * events.length,
    rssStart: rss[0]!,
    rssEnd: rss[rss.length - 1]!,
    heapBytesPerEvent: slope(xs, heap),
    rssBytesPerEvent: slope(xs, rss),
    samples: xs.length,
  };
}
