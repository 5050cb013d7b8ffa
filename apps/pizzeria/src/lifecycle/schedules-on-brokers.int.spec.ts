import 'reflect-metadata';

import { EventType, MemorySagaStore, On, OnTimeout, Saga, StartedBy, createTransport, eventBrand, type SagaContext, type Transport } from '@cloudbus/core';
import { createTestBus, type TestBus } from '@cloudbus/core/testing';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { isolate } from '../testing/broker-isolation.js';

@EventType('com.example.brokers.reminder')
class Reminder {
  declare readonly [eventBrand]: 'com.example.brokers.reminder';
  constructor(readonly text: string) {}
}
@EventType('com.example.brokers.tab-opened')
class TabOpened {
  declare readonly [eventBrand]: 'com.example.brokers.tab-opened';
  constructor(readonly tabId: string) {}
}
@EventType('com.example.brokers.drink-ordered')
class DrinkOrdered {
  declare readonly [eventBrand]: 'com.example.brokers.drink-ordered';
  constructor(
    readonly tabId: string,
    readonly drink: string,
  ) {}
}
@EventType('com.example.brokers.tab-expired')
class TabExpired {
  declare readonly [eventBrand]: 'com.example.brokers.tab-expired';
  constructor(
    readonly tabId: string,
    readonly drinks: readonly string[],
  ) {}
}
@EventType('com.example.brokers.tab-due')
class TabDue {
  declare readonly [eventBrand]: 'com.example.brokers.tab-due';
}

interface TabState {
  readonly tabId: string;
  drinks: string[];
}

@Saga<TabState>('Tab', { key: (e: { tabId: string }) => e.tabId })
class Tab {
  @StartedBy(TabOpened, { init: (e: TabOpened): TabState => ({ tabId: e.tabId, drinks: [] }) })
  opened(_e: TabOpened, ctx: SagaContext<TabState>): void {
    if (ctx.isNew) ctx.requestTimeout(new TabDue(), { delayMs: 2_500 });
  }

  @On(DrinkOrdered, { onMissing: 'retry' })
  async ordered(e: DrinkOrdered, ctx: SagaContext<TabState>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    ctx.state.drinks.push(e.drink);
  }

  @OnTimeout(TabDue)
  async due(_t: TabDue, ctx: SagaContext<TabState>): Promise<void> {
    await ctx.publish(new TabExpired(ctx.state.tabId, ctx.state.drinks));
    ctx.complete();
  }
}

for (const kind of ['rabbitmq', 'nats', 'mqtt'] as const) {
  const url = brokerUrl(kind);

  describe.skipIf(!url)(`scheduled events and saga timeouts on ${kind}`, () => {
    const isolation = isolate(kind, url!);
    const buses: TestBus[] = [];

    async function transportFor(service: string): Promise<Transport> {
      return createTransport(kind, { url: url!, service, options: isolation.transportOptions, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    }

    async function bus(service: string, options: Parameters<typeof createTestBus>[0] = {}): Promise<TestBus> {
      const t = await createTestBus({ service, transport: await transportFor(service), timeoutMs: 20_000, ...options });
      buses.push(t);
      return t;
    }

    afterEach(async () => {
      for (const t of buses.splice(0)) {
        await isolation.beforeClose(t.bus.transport);
        await t.stop();
      }
    });
    afterAll(() => isolation.cleanup());

    it('publishes a scheduled event once due, never before, and never a cancelled one', async () => {
      const t = await bus(uniqueName('sched').replace(/[^A-Za-z0-9_-]/g, '_'), { scheduler: true });
      const scheduledAt = Date.now();
      const kept = await t.bus.schedule(new Reminder('kept'), { delayMs: 1_200 });
      const cancelled = await t.bus.schedule(new Reminder('cancelled'), { delayMs: 600 });
      expect(kept).not.toBe(cancelled);
      await t.bus.cancelScheduled(cancelled);
      const fired = await t.waitFor(Reminder, (e) => e.text === 'kept');
      expect(fired.text).toBe('kept');
      expect(Date.now() - scheduledAt).toBeGreaterThanOrEqual(1_200);
      // The cancelled one was due half a second before the kept one: had it fired, it would be here.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(t.published.filter((p) => p.cloudEvent.type === 'com.example.brokers.reminder').map((p) => (p.cloudEvent.data as Reminder).text)).toEqual(['kept']);
    });

    it('a saga timeout fires, and concurrent events on two instances of the service lose no update', async () => {
      const service = uniqueName('tab').replace(/[^A-Za-z0-9_-]/g, '_');
      const store = new MemorySagaStore();
      const a = await bus(service, { handlers: [Tab], sagaStore: store, concurrency: 8 });
      const b = await bus(service, { handlers: [Tab], sagaStore: store, concurrency: 8 });
      await a.publish(new TabOpened('t-1'));
      const drinks = Array.from({ length: 12 }, (_, i) => `drink-${i}`);
      await a.publish(drinks.map((drink) => new DrinkOrdered('t-1', drink)));
      const expired = await a.waitFor(TabExpired, (e) => e.tabId === 't-1');
      const record = await store.get('Tab', 't-1');
      // Completion removes the state; what the saga saw last went out with TabExpired.
      expect(record).toMatchObject({ status: 'completed', state: null });
      expect([...expired.drinks].sort()).toEqual([...drinks].sort());
      expect(b.bus.state).toBe('started');
    });
  });
}
