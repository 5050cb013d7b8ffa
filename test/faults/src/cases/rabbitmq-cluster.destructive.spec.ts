import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FaultRun } from '../infrastructure/fault-run.js';
import { RabbitMqCluster } from '../infrastructure/rabbitmq-cluster.js';
import { faultTargets } from '../infrastructure/targets.js';
import { LONG, repetitions, sleep, timing } from '../infrastructure/timing.js';

const [rabbitmq] = faultTargets(['rabbitmq']);
const installed = await RabbitMqCluster.available();

/**
 * Fault 13 on RabbitMQ: a three-node cluster (three local `rabbitmq-server` nodes, quorum queues
 * with a member on each, the dead-letter queue too) with the node leading the handler's queue
 * SIGKILLed mid-stream. The clients are given every node (`url` a list) and connect to the
 * first, where the queues are declared and so led: when it dies they move to another node, while
 * the other two members elect a new leader and keep every confirmed message. The rest of the
 * stream is published and handled with the node still down (finding F11); it is restarted at the end.
 */
describe.skipIf(rabbitmq!.skip || !installed)('three-node RabbitMQ cluster', () => {
  let cluster: RabbitMqCluster | undefined;
  beforeAll(async () => {
    cluster = await RabbitMqCluster.start();
  }, 300_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('the quorum queue leader killed and restarted mid-stream loses nothing confirmed, and consumers carry on', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      const current = await FaultRun.create({
        fault: '13. RabbitMQ cluster: quorum queue leader SIGKILL + restart',
        target: 'rabbitmq',
        url: cluster!.names.map((name) => cluster!.urlOf(name)).join(','),
        concurrency: 16,
      });
      try {
        const queue = `${(current.broker!.options as { queuePrefix: string }).queuePrefix}${current.recorder}`;
        await Promise.all(['a', 'b'].map((instance) => current.startConsumer(instance)));
        const count = LONG ? 10_000 : 2_000;
        let killed: Promise<void> | undefined;
        let victim: string | undefined;
        await current.publish(count, {
          batchSize: 100,
          between: async (sent) => {
            if (killed === undefined && sent >= timing(count / 3, count / 5, count / 2)) {
              victim = await cluster!.leaderOf(queue);
              killed = cluster!.kill(victim ?? 'n1');
              // In long mode the stream also goes on while the node is dying, not only once it is gone.
              if (!LONG || Math.random() < 0.5) await killed;
            }
          },
        });
        await killed;
        expect(victim, 'the queue had a leader').toBeDefined();
        // The node is still down: the clients carry on through the other two. Publishes the
        // cluster refuses while it elects new leaders are reported to the caller (the checker holds
        // them to that), and the application sends more.
        const deadline = Date.now() + 60_000;
        let after = await current.publish(100, { batchSize: 50 });
        while (after.rejected > 0 && Date.now() < deadline) {
          await sleep(2_000);
          after = await current.publish(100, { batchSize: 50 });
        }
        expect(after.rejected, `publishes refused a minute after ${victim} went down: ${JSON.stringify(after.errors)}`).toBe(0);
        expect(await current.settle([current.recorder], { timeoutMs: 300_000, quietMs: 3_000 }), `events not handled with ${victim} down`).toBe(true);
        await cluster!.restart(victim!);
        await cluster!.waitHealthy(queue);
        const result = await current.check([current.recorder], { brokerLabel: 'rabbitmq (3-node cluster, quorum queues)' });
        expect(result.violations).toEqual([]);
        expect(result.duplicated).toBe(0);
      } finally {
        await current.dispose();
      }
    }
  }, LONG ? 3_600_000 : 600_000);
});
