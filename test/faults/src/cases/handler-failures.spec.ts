import { afterEach, describe, expect, it } from 'vitest';

import { FaultRun } from '../infrastructure/fault-run.js';
import { faultTargets } from '../infrastructure/targets.js';
import { repetitions, timing } from '../infrastructure/timing.js';

/** Fault 4 (handler failing k times), 5 (always failing), 8 (duplicates), 10 (competing consumers). */
describe.each(faultTargets(['memory', 'rabbitmq', 'nats', 'mqtt']))('handler faults on $target', ({ target, url, skip }) => {
  let run: FaultRun | undefined;
  afterEach(async () => {
    await run?.dispose();
    run = undefined;
  });

  it.skipIf(skip)('a handler failing k times then succeeding is retried after the backoff, with the right attempt counts, and never dead-lettered', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      const delayMs = 300;
      const failTimes = timing(2, 1, 3);
      run = await FaultRun.create({ fault: '4. handler fails k times then succeeds', target, url, retry: { kind: 'fixed', attempts: 5, delayMs } });
      await run.startConsumer('a', { failTimes });
      const published = await run.publish(timing(40, 20, 100), { batchSize: 20 });
      expect(published.rejected).toBe(0);
      await run.settle([run.recorder], { timeoutMs: 120_000 });
      const result = await run.check();
      expect(result.violations).toEqual([]);
      expect(result.deadLettered).toBe(0);
      for (const { id } of run.ledger.publishes()) {
        const attempts = run.ledger.attemptsOf(id, run.recorder);
        expect(attempts.map((a) => a.attempt)).toEqual(Array.from({ length: failTimes + 1 }, (_, i) => i + 1));
        for (let i = 1; i < attempts.length; i++) expect(attempts[i]!.at - attempts[i - 1]!.at).toBeGreaterThanOrEqual(delayMs - 5);
      }
      await run.dispose();
      run = undefined;
    }
  });

  it.skipIf(skip)('an always failing handler is dead-lettered after its attempts with a full record, while the other handler of the event and the queue go on', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      const attempts = timing(3, 2, 4);
      run = await FaultRun.create({ fault: '5. handler always fails', target, url, retry: { kind: 'fixed', attempts, delayMs: 100 } });
      await run.startConsumer('a', { alwaysFail: true, bystander: true });
      const count = timing(30, 10, 60);
      const published = await run.publish(count, { batchSize: 10 });
      expect(published.rejected).toBe(0);
      await run.settle([run.recorder, run.bystander], { timeoutMs: 180_000, deadLetters: true });
      const result = await run.check([run.recorder, run.bystander]);
      expect(result.violations).toEqual([]);
      expect(result.deadLettered).toBe(count);
      expect(run.ledger.distinctEffects(run.bystander)).toBe(count);
      for (const deadLetter of run.ledger.deadLetters()) {
        expect(deadLetter).toMatchObject({ handler: run.recorder, reason: 'retries-exhausted', attempts, errorType: 'SimulatedFailure' });
        expect(deadLetter.error).toMatch(/^event \d+ always fails$/);
        expect(deadLetter.stack).toMatch(/fault-consumer/);
        expect(deadLetter.source).not.toBe('');
        expect(Date.parse(deadLetter.time)).toBeGreaterThanOrEqual(Date.parse(deadLetter.firstTime));
        expect(run.ledger.attemptsOf(deadLetter.id, run.recorder)).toHaveLength(attempts);
      }
      await run.dispose();
      run = undefined;
    }
  });

  it.skipIf(skip)('the same source and id published twice, and a dead letter replayed, have their side effect once with the inbox on', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      run = await FaultRun.create({ fault: '8. duplicates and replay', target, url, retry: { kind: 'none' } });
      const bus = await run.publisher();
      const failing = await run.startConsumer('failing', { alwaysFail: true });
      // A dead letter to replay later.
      const [poisoned] = bus.prepare(run.events(1));
      await run.publishPrepared([poisoned!]);
      await run.settle([run.recorder], { deadLetters: true, timeoutMs: 60_000, quietMs: 500 });
      expect(run.ledger.deadLetters().map((d) => d.id)).toEqual([poisoned!.id]);
      await failing.stop();

      await run.startConsumer('healthy');
      const twice = bus.prepare(run.events(timing(20, 5, 100)));
      await run.publishPrepared(twice);
      await run.publishPrepared(twice);
      // Replay the dead letter twice (an operator clicking twice), as the inspector does.
      await run.replayDeadLetter(poisoned!.id);
      await run.replayDeadLetter(poisoned!.id);
      await run.settle([run.recorder], { timeoutMs: 60_000, quietMs: 3_000 });
      // The replayed event is handled now: forget the dead letter for the check (it was replayed).
      run.ledger.recordDeadLetters([]);
      const result = await run.check([run.recorder], { deadLetters: false });
      const replayLost = result.lost.some((lost) => lost.endsWith(poisoned!.id));
      expect(result.violations, `the replayed dead letter (${poisoned!.id}) was ${replayLost ? 'lost' : 'handled'}`).toEqual([]);
      expect(result.duplicated).toBe(0);
      expect(run.ledger.effectCount(run.recorder)).toBe(twice.length + 1);
      // Each event did reach the handler's subscription twice (unless the broker dropped the re-publish).
      expect(run.ledger.attemptCount(run.recorder)).toBeGreaterThanOrEqual(twice.length + 1);
      await run.dispose();
      run = undefined;
    }
  });

  it.skipIf(skip)('three competing consumers handle every event, none twice', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      run = await FaultRun.create({ fault: '10. competing consumers (3)', target, url, inbox: false });
      await Promise.all(['a', 'b', 'c'].map((instance) => run!.startConsumer(instance)));
      const published = await run.publish(timing(300, 200, 1_000), { batchSize: 50 });
      expect(published.rejected).toBe(0);
      await run.settle([run.recorder], { timeoutMs: 120_000, quietMs: 3_000 });
      const result = await run.check();
      expect(result.violations).toEqual([]);
      expect(result.duplicated).toBe(0);
      await run.dispose();
      run = undefined;
    }
  });
});
