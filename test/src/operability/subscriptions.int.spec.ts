import 'reflect-metadata';

import { afterEach, describe, expect, it } from 'vitest';

import { EventBus, EventHandler, EventType, eventBrand, type HandlerClass } from '@cloudbus/core';
import { recordingLogger } from '@cloudbus/core/testing';
import '@cloudbus/transport-mqtt';
import '@cloudbus/transport-nats';
import '@cloudbus/transport-rabbitmq';

import { brokerUrl, uniqueName, type BrokerKind } from '@cloudbus/test/brokers';
import { eventually, proxiedService } from './service-rig.js';

/**
 * A subscription follows its handler's types from one start to the next (what the broker routed
 * for a type the handler dropped is removed, and logged), and the subscriptions on the broker can
 * be listed and removed through `bus.subscriptions`, the same on every transport.
 */

@EventType('com.example.subs.placed')
class OrderPlaced {
  declare readonly [eventBrand]: 'com.example.subs.placed';
  constructor(readonly n: number) {}
}

@EventType('com.example.subs.cooked')
class PizzaCooked {
  declare readonly [eventBrand]: 'com.example.subs.cooked';
  constructor(readonly n: number) {}
}

const seen: string[] = [];

/** Version 1 of the kitchen: handles orders. */
@EventHandler(OrderPlaced, { name: 'kitchen' })
class KitchenV1 {
  handle(event: OrderPlaced): void {
    seen.push(`v1 placed ${event.n}`);
  }
}

/** Version 2, the same subscription: handles cooked pizzas instead. */
@EventHandler(PizzaCooked, { name: 'kitchen' })
class KitchenV2 {
  handle(event: PizzaCooked): void {
    seen.push(`v2 cooked ${event.n}`);
  }
}

@EventHandler(OrderPlaced)
class Auditor {
  handle(event: OrderPlaced): void {
    seen.push(`audit placed ${event.n}`);
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  seen.length = 0;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

type Kind = BrokerKind | 'memory';

/** Two starts of one service, on `kind`: the first with v1 of the kitchen, then with v2. */
async function service(kind: Kind, run: string, handlers: readonly HandlerClass[]): Promise<{ bus: EventBus; logger: ReturnType<typeof recordingLogger>; crash: () => Promise<void> }> {
  if (kind === 'memory') {
    const logger = recordingLogger();
    const bus = new EventBus({ service: run, transport: 'memory', transportOptions: { broker: run }, handlers, logger });
    cleanups.push(() => bus.stop());
    return { bus, logger, crash: () => bus.stop() };
  }
  const { bus, logger, proxy } = await proxiedService(kind, brokerUrl(kind)!, cleanups, { handlers, run });
  // As a process that dies: the broker loses the connection before the bus could leave anything (an MQTT shared group, say).
  const crash = async () => {
    await proxy.cut();
    await bus.stop();
  };
  return { bus, logger, crash };
}

const KINDS: readonly Kind[] = ['memory', 'rabbitmq', 'nats', 'mqtt'];

describe.each(KINDS.filter((kind) => kind === 'memory' || brokerUrl(kind) !== undefined))('subscriptions on %s', (kind) => {
  it('drops the binding of a type the handler no longer has at the next start, logs it, and lists and removes a service\'s subscriptions', async () => {
    const run = uniqueName(`subs-${kind}`);
    const first = await service(kind, run, [KitchenV1, Auditor]);
    await first.bus.start();
    await first.crash();

    const { bus, logger } = await service(kind, run, [KitchenV2, Auditor]);
    await bus.start();
    if (kind !== 'memory') {
      const removal = logger.lines.find((line) => line.level === 'info' && /no longer receives/.test(line.message));
      expect(removal?.message).toContain(`${run}.kitchen`);
      expect(removal?.message).toMatch(/placed/);
    }

    await bus.publish([new OrderPlaced(1), new PizzaCooked(2)]);
    await eventually(() => seen.includes('audit placed 1') && seen.includes('v2 cooked 2'), 'the auditor and kitchen v2 to handle their events');
    // Had the kitchen kept its binding to orders, v2 would now dead-letter order 1 ("handles cooked, not placed").
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await bus.deadLetters.list({ service: run })).toEqual([]);
    expect(seen).not.toContain('v1 placed 1');

    const listed = await bus.subscriptions.list({ service: run });
    expect(listed.map((info) => info.name)).toEqual([`${run}.Auditor`, `${run}.kitchen`].sort());
    const kitchen = listed.find((info) => info.name === `${run}.kitchen`)!;
    expect(kitchen).toMatchObject({ service: run, handler: 'KitchenV2.handle', types: ['com.example.subs.cooked'] });
    expect(kitchen.concurrency).toBeGreaterThan(0);
    expect(kitchen.retry).toMatch(/exponential|fixed|none/);
    expect(kitchen.bindings.some((binding) => binding.includes('cooked'))).toBe(true);
    expect(kitchen.bindings.some((binding) => binding.includes('placed'))).toBe(false);
    expect(kitchen.destination).not.toBe('');

    await bus.stop();
    const admin = await service(kind, run, []);
    await admin.bus.start();
    const removed = await admin.bus.subscriptions.remove({ service: run });
    expect([...removed.removed].sort()).toEqual([`${run}.Auditor`, `${run}.kitchen`].sort());
    expect(await admin.bus.subscriptions.list({ service: run })).toEqual([]);
    expect(await admin.bus.subscriptions.remove([`${run}.kitchen`])).toEqual({ removed: [], missing: [`${run}.kitchen`] });
  });
});
