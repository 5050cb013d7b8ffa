import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { brokerControl } from '../infrastructure/broker-control.js';
import type { FaultBrokerKind } from '../infrastructure/fault-broker.js';
import { FaultRun } from '../infrastructure/fault-run.js';
import { faultTargets } from '../infrastructure/targets.js';
import { LONG, repetitions, sleep } from '../infrastructure/timing.js';

/**
 * Fault 1: the broker killed (SIGKILL) at one third of a stream and stopped (SIGTERM) at one half,
 * each time started again, while a publisher and two consumers carry on. Quick mode streams 3,000
 * events; long mode 10,000, and also the other way round (SIGTERM first).
 */
describe.each(faultTargets(['rabbitmq', 'nats', 'mqtt']))('broker restart on $target', ({ target, url, skip }) => {
  const kind = target as FaultBrokerKind;
  let run: FaultRun | undefined;
  afterEach(async () => {
    await brokerControl.ensureRunning(kind);
    await run?.dispose();
    run = undefined;
  });
  afterAll(async () => {
    if (!skip) await brokerControl.ensureRunning(kind);
  });

  it.skipIf(skip)('a broker restarted twice mid-stream (SIGKILL, SIGTERM) loses no confirmed event, duplicates none with the inbox, and consumers carry on', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      const [first, second] = repeat % 2 === 0 ? (['SIGKILL', 'SIGTERM'] as const) : (['SIGTERM', 'SIGKILL'] as const);
      const count = LONG ? 10_000 : 3_000;
      run = await FaultRun.create({ fault: `1. broker restart (${first} at 1/3, ${second} at 1/2)`, target, url, concurrency: 16 });
      const current = run;
      try {
        await Promise.all(['a', 'b'].map((instance) => current.startConsumer(instance)));
        let restarting: Promise<void> | undefined;
        let restarts = 0;
        // Mosquitto's persistence is a snapshot every `autosave_interval`: a SIGKILL loses what it
        // acknowledged since the last one, which no client can prevent (docs/RELIABILITY.md). Those
        // events, published before the SIGKILL, are counted apart; any other loss still fails.
        // The publisher keeps going while the broker is being killed, so the line is drawn once
        // the process is gone.
        let publishedBeforeKill = 0;
        const restart = async (signal: 'SIGKILL' | 'SIGTERM'): Promise<void> => {
          try {
            await brokerControl.stop(kind, signal);
            if (signal === 'SIGKILL') publishedBeforeKill = current.ledger.publishedIds().length;
            await sleep(500);
          } finally {
            await brokerControl.start(kind);
          }
        };
        const report = await current.publish(count, {
          batchSize: 100,
          between: async (sent) => {
            if (restarts === 0 && sent >= count / 3) {
              restarts++;
              restarting = restart(first);
            } else if (restarts === 1 && sent >= count / 2) {
              restarts++;
              await restarting;
              restarting = restart(second);
            }
          },
        });
        await restarting;
        expect(restarts).toBe(2);
        // The stream goes on once the broker is back. A broker can take a while to serve its
        // queues again after a SIGKILL (RabbitMQ 3.10 leaves a single-node quorum queue without a
        // leader for a minute or two); publishes it does not confirm meanwhile are reported to
        // the caller (the checker holds them to that) and the application sends more.
        const deadline = Date.now() + 240_000;
        let after = await current.publish(100, { batchSize: 50 });
        while (after.rejected > 0 && Date.now() < deadline) {
          await sleep(5_000);
          after = await current.publish(100, { batchSize: 50 });
        }
        expect(after.rejected, `publishes still refused 4 minutes after the restart: ${JSON.stringify(after.errors)}`).toBe(0);
        expect(report.confirmed).toBeGreaterThan(0);
        await current.settle([current.recorder], { timeoutMs: 300_000, quietMs: 3_000 });
        const snapshotLoss =
          kind === 'mqtt'
            ? { ids: new Set(current.ledger.publishedIds().slice(0, publishedBeforeKill)), why: "acknowledged by Mosquitto before its SIGKILL, after its last persistence snapshot (autosave_interval)" }
            : undefined;
        const result = await current.check(undefined, snapshotLoss === undefined ? {} : { brokerLoss: snapshotLoss });
        expect(result.violations).toEqual([]);
        expect(result.duplicated).toBe(0);
      } finally {
        await brokerControl.ensureRunning(kind);
      }
      await current.dispose();
      run = undefined;
    }
    // Two restarts (a RabbitMQ start takes up to a minute), up to four minutes of recovery, and up
    // to five minutes of settling, per run.
  }, LONG ? 3_600_000 : 900_000);
});
