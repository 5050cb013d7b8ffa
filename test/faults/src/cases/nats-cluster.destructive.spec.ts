import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FaultRun } from '../infrastructure/fault-run.js';
import { NatsCluster } from '../infrastructure/nats-cluster.js';
import { faultTargets } from '../infrastructure/targets.js';
import { LONG, repetitions, sleep, timing } from '../infrastructure/timing.js';

const [nats] = faultTargets(['nats']);

/**
 * Fault 13: a three-node JetStream cluster (three local nats-server processes, streams with three
 * replicas) with the stream leader SIGKILLed mid-stream and restarted.
 */
describe.skipIf(nats!.skip)('three-node NATS JetStream cluster', () => {
  let cluster: NatsCluster | undefined;
  beforeAll(async () => {
    cluster = await NatsCluster.start();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('the stream leader killed and restarted mid-stream loses nothing confirmed, and consumers carry on', async () => {
    for (let repeat = 0; repeat < repetitions(); repeat++) {
      const current = await FaultRun.create({
        fault: '13. NATS cluster: stream leader SIGKILL + restart',
        target: 'nats',
        url: cluster!.url,
        concurrency: 16,
        transportOptions: { replicas: 3 },
      });
      try {
        const options = current.broker!.options as { stream: string };
        await Promise.all(['a', 'b'].map((instance) => current.startConsumer(instance)));
        // The transport's `replicas` option placed the stream on all three nodes.
        expect(await cluster!.replicasOf(options.stream)).toBe(3);
        const count = LONG ? 10_000 : 2_000;
        let killed: Promise<void> | undefined;
        let victim: string | undefined;
        await current.publish(count, {
          batchSize: 100,
          between: async (sent) => {
            if (killed === undefined && sent >= timing(count / 3, count / 5, count / 2)) {
              victim = (await cluster!.leaderOf(options.stream)) ?? 'n1';
              killed = cluster!.kill(victim).then(async () => {
                await sleep(timing(3_000, 500, 8_000));
                await cluster!.restart(victim!);
              });
            }
          },
        });
        await killed;
        expect(victim).toBeDefined();
        // "Once the cluster is back": a leader and every replica caught up.
        await cluster!.waitHealthy(options.stream);
        const after = await current.publish(100, { batchSize: 50 });
        expect(after.rejected).toBe(0);
        await current.settle([current.recorder], { timeoutMs: 300_000, quietMs: 3_000 });
        const result = await current.check([current.recorder], { brokerLabel: 'nats (3-node cluster, R3)' });
        expect(result.violations).toEqual([]);
        expect(result.duplicated).toBe(0);
      } finally {
        await current.dispose();
      }
    }
  });
});
