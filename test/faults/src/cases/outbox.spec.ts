import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ChildConsumer } from '../infrastructure/child-consumer.js';
import { FaultRun } from '../infrastructure/fault-run.js';
import { faultTargets } from '../infrastructure/targets.js';
import { repetitions, timing } from '../infrastructure/timing.js';

/** Fault 12: the process killed between saving orders and relaying their events. */
describe.each(faultTargets(['rabbitmq', 'nats', 'mqtt']))('outbox on $target', ({ target, url, skip }) => {
  let run: FaultRun | undefined;
  afterEach(async () => {
    await run?.dispose();
    run = undefined;
  });

  it.skipIf(skip)('events saved with their orders go out after a crash before relaying, and after a crash between publishing and marking them, once each', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      run = await FaultRun.create({ fault: '12. outbox: killed before relay / before mark', target, url });
      await run.startConsumer('a');
      const count = timing(60, 30, 200);
      const env = (mode: string) => ({
        CLOUDBUS_FAULT_OUTBOX: JSON.stringify({
          ...run!.consumerConfig('orders'),
          mode,
          ordersPath: join(run!.ledger.path, '..', 'orders.db'),
          count,
        }),
      });
      const phases: [string, string][] = [
        ['save-then-crash', 'SIGKILL'],
        ['relay-crash-before-mark', 'SIGKILL'],
        ['relay', 'exit 0'],
      ];
      for (const [mode, expected] of phases) {
        const child = ChildConsumer.spawn('outbox-process.ts', env(mode));
        const { code, signal } = await child.exited;
        expect(signal ?? `exit ${String(code)}`, `${mode}:\n${child.output}`).toBe(expected);
      }
      expect(run.ledger.publishes()).toHaveLength(count);
      await run.settle([run.recorder], { timeoutMs: 120_000, quietMs: 2_000 });
      const result = await run.check();
      expect(result.violations).toEqual([]);
      expect(result.duplicated).toBe(0);
      await run?.dispose();
      run = undefined;
    }
  });
});
