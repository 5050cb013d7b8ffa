import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { brokerControl } from '../infrastructure/broker-control.js';
import type { FaultBrokerKind } from '../infrastructure/fault-broker.js';
import { FaultRun } from '../infrastructure/fault-run.js';
import { awaitQuorumLeaders, electAfresh, removeOrphaned, type QuorumMember } from '../infrastructure/rabbitmq-quorum.js';
import { faultTargets } from '../infrastructure/targets.js';
import { LONG, repetitions, sleep } from '../infrastructure/timing.js';

const MOSQUITTO_SNAPSHOT = 'acknowledged by Mosquitto before its SIGKILL, after its last persistence snapshot (autosave_interval)';
const RABBITMQ_ORPHANED_MEMBER =
  "confirmed by RabbitMQ before the kill, in the log of a quorum queue member it then started afresh (rabbitmq-server#15725: names.dets not yet on disk)";

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
      // RabbitMQ quorum members started afresh during this run (their orphaned directories are removed at the end).
      const replacedMembers: QuorumMember[] = [];
      try {
        await Promise.all(['a', 'b'].map((instance) => current.startConsumer(instance)));
        let restarting: Promise<void> | undefined;
        let restarts = 0;
        // Two brokers can lose events they confirmed, and no client can prevent it; such events
        // (published before the process was gone: the publisher keeps going while it is being
        // killed) are counted apart, and any other loss still fails the case:
        // - Mosquitto's persistence is a snapshot every `autosave_interval`: a SIGKILL loses what
        //   it acknowledged since the last one (docs/RELIABILITY.md).
        // - RabbitMQ can start a quorum queue's Raft member afresh after a SIGKILL, its log
        //   orphaned (see rabbitmq-quorum.ts). The case counts that loss only when it has found the
        //   orphaned member on the node, then does what an operator would: has the new member
        //   elect itself, so that the queue serves again.
        let brokerLoss: { readonly publishedBefore: number; readonly why: string } | undefined;
        const restart = async (signal: 'SIGKILL' | 'SIGTERM'): Promise<void> => {
          let publishedBefore = 0;
          try {
            await brokerControl.stop(kind, signal);
            publishedBefore = current.ledger.publishedIds().length;
            await sleep(500);
          } finally {
            await brokerControl.start(kind);
          }
          const lost = (why: string) => {
            brokerLoss = { publishedBefore: Math.max(publishedBefore, brokerLoss?.publishedBefore ?? 0), why };
          };
          if (kind === 'mqtt' && signal === 'SIGKILL') lost(MOSQUITTO_SNAPSHOT);
          if (kind === 'rabbitmq') {
            const { replaced } = await awaitQuorumLeaders(current.name, new Set(replacedMembers.flatMap((member) => member.orphaned)));
            for (const member of replaced) {
              console.warn(`[faults] RabbitMQ started ${member.queue} afresh after the ${signal}; orphaned: ${member.orphaned.join(', ')}`);
              lost(RABBITMQ_ORPHANED_MEMBER);
              replacedMembers.push(member);
              await electAfresh(member);
            }
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
        // The stream goes on once the broker is back. A broker can take a while to serve again
        // after a SIGKILL; publishes it does not confirm meanwhile are reported to the caller (the
        // checker holds them to that) and the application sends more.
        const deadline = Date.now() + 240_000;
        let after = await current.publish(100, { batchSize: 50 });
        while (after.rejected > 0 && Date.now() < deadline) {
          await sleep(5_000);
          after = await current.publish(100, { batchSize: 50 });
        }
        expect(after.rejected, `publishes still refused 4 minutes after the restart: ${JSON.stringify(after.errors)}`).toBe(0);
        expect(report.confirmed).toBeGreaterThan(0);
        const lostByBroker = brokerLoss && { ids: new Set(current.ledger.publishedIds().slice(0, brokerLoss.publishedBefore)), why: brokerLoss.why };
        await current.settle([current.recorder], { timeoutMs: 300_000, quietMs: 3_000, brokerLoss: lostByBroker?.ids });
        const result = await current.check(undefined, lostByBroker === undefined ? {} : { brokerLoss: lostByBroker });
        expect(result.violations).toEqual([]);
        expect(result.duplicated).toBe(0);
      } finally {
        await brokerControl.ensureRunning(kind);
        for (const member of replacedMembers) await removeOrphaned(member);
      }
      await current.dispose();
      run = undefined;
    }
    // Two restarts (a RabbitMQ start takes up to a minute), up to four minutes of recovery, and up
    // to five minutes of settling, per run.
  }, LONG ? 3_600_000 : 900_000);
});
