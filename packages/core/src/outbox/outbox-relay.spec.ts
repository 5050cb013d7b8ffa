import { afterEach, describe, expect, it } from 'vitest';

import { EventBus, EventHandler, MemoryBroker, MemoryOutboxStore, MemoryTransport, OutboxRelay, silentLogger } from '../index.js';
import { OrderPlaced } from '../spec-support/example-events.js';

const handled: { orderId: string; id: string }[] = [];

@EventHandler(OrderPlaced)
class Kitchen {
  handle(event: OrderPlaced, ctx: { cloudEvent: { id: string } }): void {
    handled.push({ orderId: event.orderId, id: ctx.cloudEvent.id });
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  handled.length = 0;
});

function newBus(): EventBus {
  return new EventBus({ service: 'shop', transport: new MemoryTransport({ broker: new MemoryBroker() }), handlers: [Kitchen], logger: silentLogger });
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('OutboxRelay', () => {
  it('relays saved events in order, with the ids they were saved with', async () => {
    const bus = newBus();
    await bus.start();
    cleanup.push(() => bus.stop());
    const store = new MemoryOutboxStore();
    const prepared = bus.prepare([new OrderPlaced('o-1'), new OrderPlaced('o-2'), new OrderPlaced('o-3')]);
    store.add(prepared);
    const relay = new OutboxRelay(bus, store, { pollIntervalMs: 20, logger: silentLogger });
    relay.start();
    cleanup.push(() => relay.stop());
    await until(() => handled.length === 3);
    expect(handled.map((h) => h.orderId).sort()).toEqual(['o-1', 'o-2', 'o-3']);
    expect(handled.map((h) => h.id).sort()).toEqual(prepared.map((e) => e.id).sort());
    expect(store.size).toBe(0);
  });

  it('keeps events while publishing fails and delivers them once the bus can publish again', async () => {
    const bus = newBus();
    const store = new MemoryOutboxStore();
    store.add(bus.prepare(new OrderPlaced('o-saved-while-down')));
    const relay = new OutboxRelay(bus, store, { pollIntervalMs: 20, maxRetryDelayMs: 40, logger: silentLogger });
    relay.start();
    cleanup.push(() => relay.stop());
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(store.size).toBe(1);
    expect(handled).toHaveLength(0);
    await bus.start();
    cleanup.push(() => bus.stop());
    await until(() => handled.length === 1);
    expect(store.size).toBe(0);
  });

  it('refuses nonsense options', () => {
    expect(() => new OutboxRelay(newBus(), new MemoryOutboxStore(), { batchSize: 0 })).toThrow(/batchSize/);
  });
});
