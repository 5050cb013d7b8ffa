import { afterEach, describe, expect, it } from 'vitest';

import { FaultRun } from '../infrastructure/fault-run.js';
import { faultTargets } from '../infrastructure/targets.js';
import { repetitions, timing } from '../infrastructure/timing.js';

/**
 * Fault 9: a handler slower than the broker's ack timeout. Only NATS JetStream has one short
 * enough to test (AckWait, 5 s here); RabbitMQ's `consumer_timeout` is 30 minutes by default and
 * MQTT has none (see docs/RELIABILITY.md).
 */
describe.each(faultTargets(['nats']))('slow handler on $target', ({ target, url, skip }) => {
  let run: FaultRun | undefined;
  afterEach(async () => {
    await run?.dispose();
    run = undefined;
  });

  it.skipIf(skip)('a handler running longer than the ack timeout has its side effect once, even without the inbox', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      run = await FaultRun.create({ fault: '9. slow handler (2 x AckWait)', target, url, inbox: false, concurrency: 5 });
      const delayMs = timing(10_000, 6_000, 16_000);
      await run.startConsumer('a', { delayMs });
      const published = await run.publish(5, { batchSize: 5 });
      expect(published.rejected).toBe(0);
      await run.settle([run.recorder], { timeoutMs: 120_000, quietMs: delayMs + 2_000 });
      const result = await run.check();
      expect(result.violations).toEqual([]);
      expect(result.duplicated).toBe(0);
      expect(run.ledger.attemptCount(run.recorder)).toBe(5);
      await run.dispose();
      run = undefined;
    }
  });
});
