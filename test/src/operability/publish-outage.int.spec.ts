import 'reflect-metadata';

import { afterEach, describe, expect, it } from 'vitest';

import { EventBus, EventHandler, EventType, silentLogger, type EventContext, eventBrand } from '@cloudbus/core';
import '@cloudbus/transport-mqtt';
import '@cloudbus/transport-nats';
import '@cloudbus/transport-rabbitmq';

import { brokerUrl } from '@cloudbus/test/brokers';
import { eventually, proxiedService, transportOptions } from './service-rig.js';

/**
 * Publishing through a short network outage, on each broker: a publish issued just before the
 * connection drops (in flight, unconfirmed) and one issued while it is down both resolve once the
 * connection is back, and every event arrives. The caller sees an error only when the publish
 * timeout runs out.
 */

@EventType('com.example.outage.order')
class OrderPlaced {
  declare readonly [eventBrand]: 'com.example.outage.order';
  constructor(readonly n: number) {}
}

const handled = new Map<string, Set<number>>();

@EventHandler(OrderPlaced, { concurrency: 64 })
class OrderLog {
  handle(event: OrderPlaced, context: EventContext): void {
    const service = context.handler.split('.')[0]!;
    let seen = handled.get(service);
    if (seen === undefined) handled.set(service, (seen = new Set()));
    seen.add(event.n);
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const OUTAGE_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const kind of ['rabbitmq', 'nats', 'mqtt'] as const) {
  const url = brokerUrl(kind);
  describe.skipIf(url === undefined)(`publishing on ${kind} through a ${OUTAGE_MS} ms outage`, () => {
    it('resolves a publish that was in flight when the connection dropped, once it is back, and loses none', async () => {
      const { bus, proxy, run } = await proxiedService(kind, url!, cleanups, { handlers: [OrderLog] });
      await bus.start();
      const events = Array.from({ length: 300 }, (_, n) => new OrderPlaced(n));
      const publishing = bus.publish(events);
      let settled: 'resolved' | 'rejected' | undefined;
      publishing.then(
        () => (settled ??= 'resolved'),
        () => (settled ??= 'rejected'),
      );
      await proxy.cut();
      await sleep(OUTAGE_MS);
      expect(settled).toBeUndefined();
      await proxy.restore();
      await expect(publishing).resolves.toBeUndefined();
      await eventually(() => handled.get(run)?.size === events.length, `all ${events.length} events handled on ${kind}`, 60_000);
    });

    it('holds a publish issued while the broker is unreachable and resolves it once the connection is back', async () => {
      const { bus, proxy, run } = await proxiedService(kind, url!, cleanups, { handlers: [OrderLog] });
      await bus.start();
      await proxy.cut();
      const publishing = bus.publish([new OrderPlaced(1), new OrderPlaced(2)]);
      await sleep(OUTAGE_MS);
      await proxy.restore();
      await expect(publishing).resolves.toBeUndefined();
      await eventually(() => handled.get(run)?.size === 2, `both events handled on ${kind}`, 60_000);
    });

    it('a consumer cut off from the broker gets what was published meanwhile once its connection is back', async () => {
      const { bus, proxy, run } = await proxiedService(kind, url!, cleanups, { handlers: [OrderLog] });
      await bus.start();
      // Another service publishes straight to the broker while this one is cut off.
      const publisher = new EventBus({ service: `${run}-till`, transport: kind, url: url!, transportOptions: transportOptions(kind, run), logger: silentLogger });
      await publisher.start();
      cleanups.push(() => publisher.stop());
      await proxy.cut();
      await publisher.publish(Array.from({ length: 50 }, (_, n) => new OrderPlaced(n)));
      await sleep(OUTAGE_MS);
      expect(handled.get(run)?.size ?? 0).toBe(0);
      await proxy.restore();
      await eventually(() => handled.get(run)?.size === 50, `the 50 events handled on ${kind} after the outage`, 60_000);
    });
  });
}
