import { describe, expect, it } from 'vitest';

import { percentile, summarize } from './stats.js';
import { WindowedRun } from './windowed-run.js';

/** A consumer that handles each published message on a later turn of the event loop. */
function loopback(run: WindowedRun, onPublish: (inFlight: number) => void = () => {}) {
  let inFlight = 0;
  return (from: number, count: number) => {
    for (let i = from; i < from + count; i++) {
      inFlight++;
      onPublish(inFlight);
      const sentAt = performance.now();
      setImmediate(() => {
        inFlight--;
        run.handled(sentAt);
      });
    }
  };
}

describe('WindowedRun', () => {
  it('never has more than the window published and not yet handled', async () => {
    const run = new WindowedRun(5_000, 100);
    let most = 0;
    const result = await run.run(loopback(run, (inFlight) => (most = Math.max(most, inFlight))));
    expect(most).toBe(100);
    expect(result.throughput).toBeGreaterThan(0);
    expect(result.p99).toBeGreaterThanOrEqual(result.p50);
  });

  it('tops the window up in batches as the consumer frees slots, not one confirm at a time', async () => {
    const run = new WindowedRun(1_000, 100);
    const batches: number[] = [];
    const publish = loopback(run);
    await run.run((from, count) => {
      batches.push(count);
      publish(from, count);
    });
    expect(batches[0]).toBe(100);
    expect(batches.reduce((sum, count) => sum + count, 0)).toBe(1_000);
  });

  it('rejects when the publisher reports a failure', async () => {
    const run = new WindowedRun(1_000, 10);
    const publish = loopback(run);
    await expect(
      run.run((from, count) => {
        if (from >= 100) run.fail(new Error('broker refused the publish'));
        else publish(from, count);
      }),
    ).rejects.toThrow('broker refused the publish');
  });

  it('times out with what was published and handled when messages are lost', async () => {
    const run = new WindowedRun(50, 10, 200);
    await expect(run.run(() => {})).rejects.toThrow('0 of 50 handled, 10 published');
  });
});

describe('stats', () => {
  it('gives the nearest-rank percentile', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
  });

  it('summarises with the median, range and spread', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, spread: 1 });
    expect(summarize([4, 1, 2, 3]).median).toBe(2.5);
  });
});
