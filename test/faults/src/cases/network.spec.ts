import { afterEach, describe, expect, it } from 'vitest';

import { FaultRun } from '../infrastructure/fault-run.js';
import { faultTargets } from '../infrastructure/targets.js';
import { repetitions, sleep, timing } from '../infrastructure/timing.js';

type NetworkFault = 'reset' | 'latency' | 'blackhole';

/** Fault 2: connections reset, delayed and blackholed by the proxy, for publisher and consumers. */
describe.each(faultTargets(['rabbitmq', 'nats', 'mqtt']))('network faults on $target', ({ target, url, skip }) => {
  let run: FaultRun | undefined;
  afterEach(async () => {
    await run?.dispose();
    run = undefined;
  });

  const inject: Record<NetworkFault, (run: FaultRun) => Promise<void>> = {
    async reset(run) {
      run.proxy!.reset();
    },
    async latency(run) {
      run.proxy!.latency(timing(200, 50, 500));
      await sleep(timing(3_000, 1_000, 5_000));
      run.proxy!.heal();
    },
    async blackhole(run) {
      run.proxy!.blackhole();
      await sleep(timing(3_000, 1_000, 8_000));
      run.proxy!.heal();
    },
  };

  for (const fault of ['reset', 'latency', 'blackhole'] as const) {
    it.skipIf(skip)(`connections ${fault === 'reset' ? 'reset' : fault === 'latency' ? 'delayed' : 'blackholed'} mid-stream lose no confirmed event, and every unconfirmed publish is reported`, async () => {
      for (let repeat = 0; repeat < repetitions(); repeat++) {
        run = await FaultRun.create({ fault: `2. connections ${fault}`, target, url, proxy: true });
        const current = run;
        await Promise.all(['a', 'b'].map((instance) => current.startConsumer(instance)));
        const count = timing(600, 300, 1_500);
        const faultAt = timing(200, 50, count - 50);
        let injected: Promise<void> | undefined;
        const published = await current.publish(count, {
          batchSize: 25,
          between: (sent) => {
            // Injected once, while publishing goes on (the fault runs beside the publisher).
            if (injected === undefined && sent >= faultAt) injected = inject[fault](current);
          },
        });
        await injected;
        // A few more once healed, so consumers are seen to carry on.
        await current.publish(50, { batchSize: 25 });
        expect(published.confirmed).toBeGreaterThan(0);
        await current.settle([current.recorder], { timeoutMs: 180_000, quietMs: 2_000 });
        const result = await current.check();
        expect(result.violations).toEqual([]);
        expect(result.duplicated).toBe(0);
        await current.dispose();
        run = undefined;
      }
    });
  }
});
