import { afterEach, describe, expect, it } from 'vitest';

import type { CrashPoint } from '../process/fault-consumer.js';
import { FaultRun } from '../infrastructure/fault-run.js';
import { faultTargets } from '../infrastructure/targets.js';
import { repetitions, timing } from '../infrastructure/timing.js';

/** Fault 3: the consumer process SIGKILLed before and after its side effect, before the ack. */
describe.each(faultTargets(['rabbitmq', 'nats', 'mqtt']))('consumer crash on $target', ({ target, url, skip }) => {
  let run: FaultRun | undefined;
  afterEach(async () => {
    await run?.dispose();
    run = undefined;
  });

  const cases: { point: CrashPoint; inbox: boolean }[] = [
    { point: 'before-effect', inbox: true },
    { point: 'after-effect', inbox: true },
    { point: 'after-effect', inbox: false },
  ];
  for (const { point, inbox } of cases) {
    it.skipIf(skip)(
      `a consumer killed ${point === 'before-effect' ? 'before' : 'after'} its side effect, before the ack, loses nothing${inbox ? ' and duplicates nothing with the inbox on' : ' (inbox off: duplicates counted)'}`,
      async () => {
        for (let repeat = 0; repeat < repetitions(); repeat++) {
          run = await FaultRun.create({ fault: `3. consumer SIGKILL ${point}${inbox ? '' : ', inbox off'}`, target, url, inbox, concurrency: 4 });
          const afterHandled = timing(15, 0, 40);
          const doomed = await run.startConsumer('a', { crash: { point, afterHandled } });
          const published = await run.publish(timing(60, 50, 150), { batchSize: 10 });
          expect(published.rejected).toBe(0);
          const { signal } = await doomed.exited;
          expect(signal).toBe('SIGKILL');
          // The same instance comes back (MQTT: it resumes its persistent session).
          await run.startConsumer('a');
          await run.settle([run.recorder], { timeoutMs: 120_000, quietMs: 2_000 });
          const result = await run.check();
          expect(result.violations).toEqual([]);
          if (inbox) expect(result.duplicated).toBe(0);
          await run.dispose();
          run = undefined;
        }
      },
    );
  }
});
