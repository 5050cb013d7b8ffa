import 'reflect-metadata';

import { afterEach, describe, expect, it } from 'vitest';

import {
  carrierTypeOf,
  MemorySagaStore,
  On,
  OnTimeout,
  Saga,
  StartedBy,
  retry,
  type SagaContext,
  type SagaTelemetry,
} from '../index.js';
import { ItemAdded, OrderDelivered, OrderPlaced, PaymentDue, PaymentOverdue, PaymentProcessed } from '../spec-support/example-events.js';
import { sagaStoreContract } from '../testing/contract.js';
import { createTestBus, type TestBus } from '../testing/index.js';
import { MemoryBroker } from '../transport/memory/memory-broker.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';

interface WatchState {
  readonly orderId: string;
  paid: boolean;
  items: string[];
}

const PAYMENT_WINDOW_MS = 15 * 60_000;

@Saga<WatchState>('PaymentWatch', { key: (e: { orderId: string }) => e.orderId, retry: retry.fixed({ attempts: 3, delayMs: 10 }) })
class PaymentWatch {
  @StartedBy(OrderPlaced, { init: (e: OrderPlaced): WatchState => ({ orderId: e.orderId, paid: false, items: [] }) })
  placed(_e: OrderPlaced, ctx: SagaContext<WatchState>): void {
    if (ctx.isNew) ctx.requestTimeout(new PaymentDue(), { delayMs: PAYMENT_WINDOW_MS });
  }

  @On(PaymentProcessed, { onMissing: 'retry' })
  paid(_e: PaymentProcessed, ctx: SagaContext<WatchState>): void {
    ctx.state.paid = true;
    ctx.cancelTimeout(PaymentDue);
  }

  @On(ItemAdded)
  async added(e: ItemAdded, ctx: SagaContext<WatchState>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 5)); // widen the race
    ctx.state.items.push(e.item);
  }

  @OnTimeout(PaymentDue)
  async due(_t: PaymentDue, ctx: SagaContext<WatchState>): Promise<void> {
    await ctx.publish(new PaymentOverdue(ctx.state.orderId));
    ctx.complete();
  }

  @On(OrderDelivered)
  delivered(_e: OrderDelivered, ctx: SagaContext<WatchState>): void {
    ctx.complete();
  }
}

const buses: TestBus[] = [];
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.stop();
});

async function virtualBus(): Promise<TestBus> {
  const t = await createTestBus({ handlers: [PaymentWatch], clock: 'virtual' });
  buses.push(t);
  return t;
}

const sagaEvents = (t: TestBus, action: SagaTelemetry['action']) =>
  t.telemetry.filter((r): r is SagaTelemetry => r.kind === 'saga' && r.action === action);

describe('sagas on the memory transport', () => {
  it('an unpaid order times out: the timeout fires once its time has come, and the saga completes', async () => {
    const t = await virtualBus();
    await t.publish(new OrderPlaced('o-1'));
    await t.idle();
    expect(await t.saga(PaymentWatch, 'o-1')).toMatchObject({ status: 'active', state: { orderId: 'o-1', paid: false } });

    await t.advanceTime(PAYMENT_WINDOW_MS - 1_000);
    expect(t.published.filter((p) => p.event instanceof PaymentOverdue)).toHaveLength(0);

    await t.advanceTime(1_000);
    await t.waitFor(PaymentOverdue, (e) => e.orderId === 'o-1');
    expect(await t.saga(PaymentWatch, 'o-1')).toMatchObject({ status: 'completed', timeouts: {} });
  });

  it('a payment inside the window cancels the timeout: it is dropped as stale when it fires', async () => {
    const t = await virtualBus();
    await t.publish(new OrderPlaced('o-2'));
    await t.idle();
    await t.publish(new PaymentProcessed('o-2'));
    await t.advanceTime(PAYMENT_WINDOW_MS * 2);
    expect(t.published.filter((p) => p.cloudEvent.type === 'com.example.payment.overdue')).toHaveLength(0);
    expect(sagaEvents(t, 'timeout-dropped').map((r) => r.detail)).toEqual(['stale']);
    expect(await t.saga(PaymentWatch, 'o-2')).toMatchObject({ status: 'active', state: { paid: true }, timeouts: {} });
    // Each saved step reports the state it saved, for the inspector's flow view.
    const saved = sagaEvents(t, 'updated').map((r) => JSON.parse(r.state!) as { paid?: boolean });
    expect(saved).toHaveLength(2);
    expect(saved.at(-1)).toMatchObject({ paid: true });
  });

  it('a timeout of a completed saga is dropped as completed', async () => {
    const t = await virtualBus();
    await t.publish(new OrderPlaced('o-3'));
    await t.idle();
    await t.publish(new OrderDelivered('o-3'));
    await t.advanceTime(PAYMENT_WINDOW_MS);
    expect(sagaEvents(t, 'timeout-dropped').map((r) => r.detail)).toEqual(['completed']);
    expect(t.published.some((p) => p.event instanceof PaymentOverdue)).toBe(false);
  });

  it('two copies of the starter (different ids) start one instance with one timeout', async () => {
    const t = await virtualBus();
    await t.publish([new OrderPlaced('o-4'), new OrderPlaced('o-4')]);
    await t.advanceTime(PAYMENT_WINDOW_MS);
    expect(sagaEvents(t, 'started')).toHaveLength(1);
    expect(sagaEvents(t, 'timeout-requested')).toHaveLength(1);
    expect(t.published.filter((p) => p.cloudEvent.type === 'com.example.payment.overdue')).toHaveLength(1);
  });

  it('a redelivered event is applied once', async () => {
    const t = await virtualBus();
    await t.publish(new OrderPlaced('o-5'));
    await t.idle();
    await t.publish(new ItemAdded('o-5', 'margherita'), { id: 'item-event-1' });
    await t.publish(new ItemAdded('o-5', 'margherita'), { id: 'item-event-1' });
    await t.idle();
    expect((await t.saga(PaymentWatch, 'o-5'))?.state).toMatchObject({ items: ['margherita'] });
    expect(sagaEvents(t, 'duplicate')).toHaveLength(1);
  });

  it('an event for a missing instance follows its policy: discarded by default, retried then dead-lettered with retry', async () => {
    const t = await createTestBus({ handlers: [PaymentWatch], skipRetryDelays: true });
    buses.push(t);
    await t.publish(new OrderDelivered('nobody'));
    await t.waitForTelemetry((r) => r.kind === 'saga' && r.action === 'not-found' && r.detail === 'discard');
    await t.publish(new PaymentProcessed('nobody'));
    const letter = await t.waitForDeadLetter((d) => d.cloudEvent?.type === 'com.example.payment.processed');
    expect(letter.record).toMatchObject({ reason: 'retries-exhausted', attempts: 3, error: { type: 'SagaNotFoundError' } });
  });

  it('concurrent events for one instance on two processes lose no update', async () => {
    const broker = new MemoryBroker();
    const store = new MemorySagaStore();
    const a = await createTestBus({ handlers: [PaymentWatch], transport: new MemoryTransport({ broker, isolate: true }), sagaStore: store });
    const b = await createTestBus({ handlers: [PaymentWatch], transport: new MemoryTransport({ broker, isolate: true }), sagaStore: store });
    buses.push(a, b);
    await a.publish(new OrderPlaced('o-6'));
    await a.waitForTelemetry((r) => r.kind === 'saga' && r.action === 'started');
    const items = Array.from({ length: 20 }, (_, i) => `pizza-${i}`);
    await a.publish(items.map((item) => new ItemAdded('o-6', item)));
    await expect.poll(async () => ((await store.get('PaymentWatch', 'o-6'))?.state as WatchState | undefined)?.items.length).toBe(20);
    const record = await store.get('PaymentWatch', 'o-6');
    expect([...(record!.state as WatchState).items].sort()).toEqual([...items].sort());
    expect(record!.version).toBe(21);
    // Both processes took part, so their writes did race.
    const handledBy = [a, b].map((t) => t.telemetry.filter((r) => r.kind === 'handler-succeeded' && r.eventType === 'com.example.order.item-added').length);
    expect(handledBy.every((n) => n > 0)).toBe(true);
    expect([...sagaEvents(a, 'conflict'), ...sagaEvents(b, 'conflict')].length).toBeGreaterThan(0);
  });
});

describe('bus.schedule on the memory transport', () => {
  it('publishes a scheduled event once due, in due order, and never a cancelled one', async () => {
    const t = await createTestBus({ clock: 'virtual', scheduler: true });
    buses.push(t);
    const start = t.bus.clock.now();
    await t.bus.schedule(new PaymentOverdue('late'), { delayMs: 60_000 });
    await t.bus.schedule(new PaymentOverdue('early'), { at: new Date(start + 30_000) });
    const cancelled = await t.bus.schedule(new PaymentOverdue('cancelled'), { delayMs: 45_000 });
    await t.bus.cancelScheduled(cancelled);
    const overdue = () => t.published.filter((p) => p.cloudEvent.type === 'com.example.payment.overdue').map((p) => (p.cloudEvent.data as { orderId: string }).orderId);

    await t.advanceTime(29_999);
    expect(overdue()).toEqual([]);
    await t.advanceTime(1);
    expect(overdue()).toEqual(['early']);
    await t.advanceTime(60_000);
    expect(overdue()).toEqual(['early', 'late']);
  });

  it('rejects a schedule on a bus without a scheduler, and invalid times', async () => {
    const t = await createTestBus();
    buses.push(t);
    await expect(t.bus.schedule(new PaymentOverdue('x'), { delayMs: 1 })).rejects.toThrow(/scheduler/);
    const s = await createTestBus({ scheduler: true });
    buses.push(s);
    await expect(s.bus.schedule(new PaymentOverdue('x'), { delayMs: -1 })).rejects.toThrow(/delayMs/);
    await expect(s.bus.schedule(new PaymentOverdue('x'), { at: 'not a time' })).rejects.toThrow(/not a valid time/);
  });

  it('dead-letters a forged carrier (no valid due time, or no CloudEvent inside) without publishing anything', async () => {
    const t = await createTestBus({ scheduler: true });
    buses.push(t);
    const carrier = (id: string, extra: Record<string, unknown>) => ({ specversion: '1.0' as const, id, source: '/forger', type: carrierTypeOf('test'), datacontenttype: 'application/json', ...extra });
    await t.bus.publishPrepared([
      carrier('no-due', { data: { specversion: '1.0', id: 'x', source: '/s', type: 'com.example.payment.overdue' } }),
      carrier('bad-inner', { scheduledue: new Date().toISOString(), data: { hello: 'world' } }),
    ]);
    const letters = await Promise.all(['no-due', 'bad-inner'].map((id) => t.waitForDeadLetter((d) => d.cloudEvent?.id === id)));
    expect(letters.map((l) => l.record?.reason)).toEqual(['invalid', 'invalid']);
    expect(letters.map((l) => l.record?.handler)).toEqual(['test.cloudbus-scheduler', 'test.cloudbus-scheduler']);
    expect(t.published.filter((p) => p.cloudEvent.type === 'com.example.payment.overdue')).toHaveLength(0);
  });

  it('publishes on real time too', async () => {
    const t = await createTestBus({ scheduler: true });
    buses.push(t);
    const scheduledAt = Date.now();
    await t.bus.schedule(new PaymentOverdue('soon'), { delayMs: 300 });
    await t.waitFor(PaymentOverdue, (e) => e.orderId === 'soon');
    expect(Date.now() - scheduledAt).toBeGreaterThanOrEqual(300);
  });
});

sagaStoreContract('MemorySagaStore', () => new MemorySagaStore());
