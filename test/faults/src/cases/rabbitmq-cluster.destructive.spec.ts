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
 * SIGKILLed mid-stream and restarted. The clients are given every node (`url` a list) and connect
 * to the first, where the queues are declared and so led: when it dies they move to another node,
 * while the other two members elect a new leader and keep every confirmed message.
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
              killed = cluster!.kill(victim ?? 'n1').then(async () => {
                await sleep(timing(3_000, 500, 8_000));
                await cluster!.restart(victim ?? 'n1');
              });
            }
          },
        });
        await killed;
        expect(victim, 'the queue had a leader').toBeDefined();
        await cluster!.waitHealthy(queue);
        const after = await current.publish(100, { batchSize: 50 });
        expect(after.rejected, `publishes refused after the restart: ${JSON.stringify(after.errors)}`).toBe(0);
        await current.settle([current.recorder], { timeoutMs: 300_000, quietMs: 3_000 });
        const result = await current.check([current.recorder], { brokerLabel: 'rabbitmq (3-node cluster, quorum queues)' });
        expect(result.violations).toEqual([]);
        expect(result.duplicated).toBe(0);
      } finally {
        await current.dispose();
      }
    }
  }, LONG ? 3_600_000 : 600_000);
});
