import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EventBus, MemoryTransport, PublishError, TELEMETRY_EVENT_TYPE, decodeDeadLetter, type Transport } from '@cloudbus/core';
import type { Delivery, OutgoingMessage, Subscription, SubscriptionSpec } from '@cloudbus/core/transport';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';

import { OrderPlacedV1 } from '../events/order-placed-v1.js';
import { startKitchenDevices } from '../kitchen/kitchen-devices.js';
import type { Notification } from '../notifications/notification.js';
import { SmsGatewayError } from '../notifications/sms-gateway-error.js';
import type { SmsSender } from '../notifications/sms-sender.js';
import type { AnalyticsReport } from '../persistence/analytics-store.js';
import type { StockAlert, StockLine } from '../persistence/inventory-store.js';
import { PizzeriaDriver } from '../testing/pizzeria-driver.js';
import { createPizzeria, type Pizzeria } from './pizzeria.js';
import type { PizzeriaOptions } from './pizzeria-options.js';

const running: Pizzeria[] = [];

async function start(options: PizzeriaOptions = {}): Promise<{ pizzeria: Pizzeria; api: PizzeriaDriver }> {
  const pizzeria = await createPizzeria({
    service: 'pizzeria',
    transport: 'memory',
    url: `memory://${randomUUID()}`,
    database: ':memory:',
    bakeTimeMs: 30,
    outboxPollIntervalMs: 100,
    outboxMaxRetryDelayMs: 200,
    ...options,
  });
  running.push(pizzeria);
  return { pizzeria, api: new PizzeriaDriver(pizzeria.http) };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((pizzeria) => pizzeria.stop()));
});

type Analytics = AnalyticsReport & { deadLetters: { count: number } };

describe('the pizzeria on the in-memory transport', () => {
  it('takes an order through the HTTP API to delivered, notifies the customer, uses stock and counts it', async () => {
    const { api } = await start();
    const menu = await api.get<{ items: { id: string; price: string }[] }>('/menu');
    expect(menu.items.find((item) => item.id === 'margherita')?.price).toBe('9.50');
    const stockBefore = await api.get<{ ingredients: StockLine[] }>('/stock');

    const placed = await api.placeOrder();
    expect(placed.status).toBe('placed');
    expect(placed.total).toBe('25.99');
    await api.post(`/orders/${placed.id}/pay`);
    const ready = await api.waitForStatus(placed.id, 'ready');
    expect(ready.cookingStartedAt).not.toBeNull();
    await api.post(`/orders/${placed.id}/out-for-delivery`, { courier: 'Luigi' });
    const delivered = await api.post(`/orders/${placed.id}/delivered`);
    expect(delivered.status).toBe('delivered');

    const notifications = await api.eventually(async () => {
      const { notifications } = await api.get<{ notifications: Notification[] }>(`/notifications?orderId=${placed.id}`);
      return notifications.length === 3 ? notifications : undefined;
    }, 'three notifications');
    expect(notifications.map((n) => `${n.channel}:${n.recipient}`).sort()).toEqual([
      'email:anna@example.com',
      'sms:+39 081 555 0100',
      'sms:+39 081 555 0100',
    ]);
    expect(notifications.find((n) => n.channel === 'email')?.body).toContain('Total: 25.99');

    const stockAfter = await api.get<{ ingredients: StockLine[] }>('/stock');
    const level = (stock: { ingredients: StockLine[] }, name: string) => stock.ingredients.find((line) => line.ingredient === name)!.quantity;
    expect(level(stockBefore, 'dough') - level(stockAfter, 'dough')).toBe(2);
    expect(level(stockBefore, 'mascarpone') - level(stockAfter, 'mascarpone')).toBe(1);

    const analytics = await api.eventually(async () => {
      const report = await api.get<Analytics>('/analytics');
      return report.ordersDelivered === 1 ? report : undefined;
    }, 'the delivery to be counted');
    expect(analytics).toMatchObject({ ordersPlaced: 1, ordersPaid: 1, ordersReady: 1, revenue: '25.99', deadLetters: { count: 0 } });
    expect(analytics.averagePreparationSeconds).toBeGreaterThan(0);

    const { timeline } = await api.order(placed.id);
    const published = timeline.filter((step) => step.kind === 'published').map((step) => step.eventType);
    expect(published).toEqual(
      expect.arrayContaining([
        'com.mariopizzeria.order.placed',
        'com.mariopizzeria.order.payment-processed',
        'com.mariopizzeria.kitchen.ticket-queued',
        'com.mariopizzeria.kitchen.cooking-started',
        'com.mariopizzeria.kitchen.order-ready',
        'com.mariopizzeria.order.cooking-started',
        'com.mariopizzeria.order.ready',
        'com.mariopizzeria.order.delivered',
      ]),
    );
    expect(timeline.some((step) => step.kind === 'handler-succeeded' && step.handler === 'pizzeria.KitchenWorkflow')).toBe(true);
  });

  it('answers bad input with a 400 that names the field', async () => {
    const { api } = await start();
    const cases: [Record<string, unknown>, string][] = [
      [{ phone: undefined }, 'phone'],
      [{ phone: 'call me' }, 'phone'],
      [{ email: 'not-an-address' }, 'email'],
      [{ items: [] }, 'items'],
      [{ items: [{ menuItemId: 'margherita', quantity: 0 }] }, 'items[0].quantity'],
      [{ items: [{ menuItemId: 'margherita', quantity: 1 }, { menuItemId: 'hawaiian', quantity: 1 }] }, 'items[1].menuItemId'],
      [{ deliveryAddress: undefined }, 'deliveryAddress'],
    ];
    for (const [overrides, field] of cases) {
      const body = { customerId: 'c', phone: '+39 081 555 0100', items: [{ menuItemId: 'margherita', quantity: 1 }], deliveryAddress: 'Via Roma 1', ...overrides };
      const reply = await api.request<{ field: string; message: string }>('POST', '/orders', JSON.parse(JSON.stringify(body)));
      expect({ field, status: reply.status, answer: reply.body.field }).toEqual({ field, status: 400, answer: field });
      expect(reply.body.message).toContain(field.replace(/\[\d+\]/, '').split('.')[0]);
    }
    const { orders } = await api.get<{ orders: unknown[] }>('/orders');
    expect(orders).toHaveLength(0);
  });

  it('refuses an illegal transition with a 409 and leaves the order as it was', async () => {
    const { api } = await start({ kitchenDevices: 'external' });
    const placed = await api.placeOrder();
    const reply = await api.request<{ error: string; message: string }>('POST', `/orders/${placed.id}/delivered`, {});
    expect(reply.status).toBe(409);
    expect(reply.body.error).toBe('IllegalTransitionError');
    expect(reply.body.message).toContain('is placed');
    expect((await api.order(placed.id)).status).toBe('placed');
    expect((await api.request('POST', `/orders/${randomUUID()}/pay`, {})).status).toBe(404);
    await api.post(`/orders/${placed.id}/cancel`, { reason: 'changed my mind' });
    expect((await api.order(placed.id)).cancellationReason).toBe('changed my mind');
  });

  it('retries a failing SMS sender, then dead-letters it, while the order completes and the e-mail goes out', async () => {
    const calls: string[] = [];
    const failingSms: SmsSender = {
      send: (message) => {
        calls.push(message.text);
        return Promise.reject(new SmsGatewayError('gateway timeout'));
      },
    };
    const { pizzeria, api } = await start({ smsSender: failingSms });
    const delivered = await api.deliverOrder();
    expect(delivered.status).toBe('delivered');

    const analytics = await api.eventually(async () => {
      const report = await api.get<Analytics>('/analytics');
      return report.deadLetters.count >= 2 ? report : undefined;
    }, 'both SMS to be dead-lettered');
    expect(analytics.ordersDelivered).toBe(1);

    const transport = pizzeria.bus.transport as MemoryTransport;
    const deadLetters = (await transport.readDeadLetters()).map(decodeDeadLetter);
    const confirm = deadLetters.find((d) => d.record?.handler === 'pizzeria.CustomerCommunication.confirmBySms');
    expect(confirm?.record).toMatchObject({ reason: 'retries-exhausted', attempts: 4, error: { type: 'SmsGatewayError', message: 'gateway timeout' } });
    expect(confirm?.cloudEvent?.type).toBe('com.mariopizzeria.order.placed');
    expect(confirm?.cloudEvent?.correlationid).toBe(delivered.id);
    expect(deadLetters.some((d) => d.record?.handler === 'pizzeria.CustomerCommunication.readyBySms')).toBe(true);
    expect(calls.length).toBe(8);

    const { notifications } = await api.get<{ notifications: Notification[] }>(`/notifications?orderId=${delivered.id}`);
    expect(notifications.map((n) => n.channel)).toEqual(['email']);
  });

  it('saves orders while the broker is unreachable and the outbox delivers their events once it is back', async () => {
    const broker = `memory://${randomUUID()}`;
    const transport = new SwitchableTransport(new MemoryTransport({ broker: broker.slice('memory://'.length) }));
    const { pizzeria, api } = await start({ transport, kitchenTransport: 'memory', kitchenUrl: broker, url: undefined });
    transport.reachable = false;
    const placed = await api.placeOrder();
    expect(placed.status).toBe('placed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await pizzeria.outbox.size()).toBe(1);
    expect((await api.get<Analytics>('/analytics')).ordersPlaced).toBe(0);

    transport.reachable = true;
    await api.eventually(async () => ((await api.get<Analytics>('/analytics')).ordersPlaced === 1 ? true : undefined), 'the order to be counted');
    expect(await pizzeria.outbox.size()).toBe(0);
    await api.post(`/orders/${placed.id}/pay`);
    await api.waitForStatus(placed.id, 'ready');
  });

  it('queues the kitchen ticket through the kitchen outbox while the kitchen broker is unreachable', async () => {
    const url = `memory://${randomUUID()}`;
    const kitchenTransport = new SwitchableTransport(new MemoryTransport({ broker: url.slice('memory://'.length) }));
    const { api } = await start({ url, kitchenTransport, kitchenDevices: 'external' });
    const devices = await startKitchenDevices({ transport: 'memory', url, bakeTimeMs: 20 });
    onTestFinished(() => devices.stop());
    kitchenTransport.reachable = false;
    const placed = await api.placeOrder();
    await api.post(`/orders/${placed.id}/pay`);
    await api.eventually(async () => ((await api.get<{ kitchenOutboxPending: number }>('/health')).kitchenOutboxPending === 1 ? true : undefined), 'the ticket in the kitchen outbox');
    expect((await api.order(placed.id)).status).toBe('paid');
    kitchenTransport.reachable = true;
    await api.waitForStatus(placed.id, 'ready');
  });

  it('publishes the telemetry of its buses and of its kitchen devices when asked, and none by default', async () => {
    const url = `memory://${randomUUID()}`;
    const broker = url.slice('memory://'.length);
    const main = new SwitchableTransport(new MemoryTransport({ broker }));
    const kitchen = new SwitchableTransport(new MemoryTransport({ broker }));
    const ovens = new SwitchableTransport(new MemoryTransport({ broker }));
    const { api } = await start({ transport: main, url: undefined, kitchenTransport: kitchen, kitchenDevices: 'external', publishTelemetry: { intervalMs: 20 } });
    const devices = await startKitchenDevices({ transport: ovens, bakeTimeMs: 20, publishTelemetry: { intervalMs: 20 } });
    onTestFinished(() => devices.stop());
    await api.deliverOrder();
    for (const [bus, transport] of [
      ['main', main],
      ['kitchen', kitchen],
      ['ovens', ovens],
    ] as const) {
      await api.eventually(async () => (transport.publishedTypes.includes(TELEMETRY_EVENT_TYPE) ? true : undefined), `telemetry from the ${bus} bus`);
    }

    vi.stubEnv('CLOUDBUS_TELEMETRY', '');
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const quiet = new SwitchableTransport(new MemoryTransport({ broker: randomUUID() }));
    const second = await start({ transport: quiet, url: undefined, kitchenTransport: 'memory', kitchenUrl: `memory://${randomUUID()}` });
    await second.api.deliverOrder();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(quiet.publishedTypes).toContain('com.mariopizzeria.order.delivered');
    expect(quiet.publishedTypes).not.toContain(TELEMETRY_EVENT_TYPE);
  });

  it('upcasts an OrderPlaced of version 1 still on the broker and handles it', async () => {
    const url = `memory://${randomUUID()}`;
    const { api } = await start({ url });
    const legacy = new EventBus({ service: 'legacy-shop', transport: 'memory', url });
    await legacy.start();
    try {
      const orderId = randomUUID();
      const line = { menuItemId: 'diavola', name: 'Diavola', quantity: 1, unitPrice: '12.00' };
      await legacy.publish(
        new OrderPlacedV1(orderId, 'c-1', '+39 081 555 0199', [line], '12.00', 'Via Roma 1, Napoli', new Date().toISOString(), new Date().toISOString()),
      );
      const sms = await api.eventually(async () => {
        const { notifications } = await api.get<{ notifications: Notification[] }>(`/notifications?orderId=${orderId}`);
        return notifications.length > 0 ? notifications : undefined;
      }, 'the SMS for the v1 order');
      expect(sms).toEqual([expect.objectContaining({ channel: 'sms', recipient: '+39 081 555 0199' })]);
      expect(sms[0]!.body).toContain('total 12.00');
      await api.eventually(async () => ((await api.get<Analytics>('/analytics')).ordersPlaced === 1 ? true : undefined), 'the v1 order to be counted');
      expect((await api.get<Analytics>('/analytics')).deadLetters.count).toBe(0);
    } finally {
      await legacy.stop();
    }
  });

  it('reorders an ingredient that runs low and cancels an order it cannot cook', async () => {
    const { api } = await start();
    const fiveByTwenty = Array.from({ length: 5 }, () => ({ menuItemId: 'quattro-formaggi', quantity: 20 }));
    const big = await api.placeOrder({ items: fiveByTwenty });
    await api.post(`/orders/${big.id}/pay`);
    await api.waitForStatus(big.id, 'ready');
    const stock = await api.eventually(async () => {
      const answer = await api.get<{ ingredients: StockLine[]; alerts: StockAlert[] }>('/stock');
      return answer.alerts.length > 0 ? answer : undefined;
    }, 'a low-stock alert');
    expect(stock.alerts).toEqual(
      expect.arrayContaining([expect.objectContaining({ ingredient: 'gorgonzola', quantity: 0, threshold: 20, supplier: 'Caseificio Campano', reordered: 100 })]),
    );
    expect(stock.ingredients.find((line) => line.ingredient === 'gorgonzola')?.quantity).toBe(100);

    const tooBig = await api.placeOrder({ items: [...fiveByTwenty, { menuItemId: 'quattro-formaggi', quantity: 1 }] });
    await api.post(`/orders/${tooBig.id}/pay`);
    const cancelled = await api.waitForStatus(tooBig.id, 'cancelled');
    expect(cancelled.cancellationReason).toMatch(/^out of .*gorgonzola/);
  });

  it('shares the work between two instances on one broker and one database without handling an event twice', async () => {
    const url = `memory://${randomUUID()}`;
    const database = join(tmpdir(), `pizzeria-${randomUUID()}.db`);
    onTestFinished(() => Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${database}${suffix}`, { force: true }))).then(() => {}));
    const first = await start({ url, database });
    const second = await start({ url, database });
    const placed = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? first.api : second.api).placeOrder()));
    await Promise.all(placed.map((order, i) => (i % 2 === 0 ? second.api : first.api).post(`/orders/${order.id}/pay`)));
    for (const order of placed) await first.api.waitForStatus(order.id, 'ready');
    const analytics = await first.api.eventually(async () => {
      const report = await first.api.get<Analytics>('/analytics');
      return report.ordersReady === 12 && report.ordersPlaced === 12 ? report : undefined;
    }, 'all orders counted');
    expect(analytics.ordersPaid).toBe(12);
    const { notifications } = await first.api.get<{ notifications: Notification[] }>('/notifications?limit=1000');
    expect(notifications.filter((n) => n.channel === 'sms')).toHaveLength(24);
    expect(notifications.filter((n) => n.channel === 'email')).toHaveLength(12);
    const succeeded = [first.pizzeria, second.pizzeria].map(
      (p) => placed.flatMap((order) => p.timeline.timeline(order.id)).filter((s) => s.kind === 'handler-succeeded' && s.handler === 'pizzeria.KitchenWorkflow').length,
    );
    expect(succeeded[0]! + succeeded[1]!).toBe(12);
    expect(succeeded[0]).toBeGreaterThan(0);
    expect(succeeded[1]).toBeGreaterThan(0);
  });
});

/** A transport whose broker can be made unreachable: publishing fails while it is. */
class SwitchableTransport implements Transport {
  reachable = true;
  /** The CloudEvents type of every message published through it. */
  readonly publishedTypes: string[] = [];
  readonly name: string;
  readonly capabilities: Transport['capabilities'];

  constructor(private readonly inner: Transport) {
    this.name = inner.name;
    this.capabilities = inner.capabilities;
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (!this.reachable) return Promise.reject(new PublishError('broker unreachable', messages.map((m) => m.id)));
    for (const message of messages) this.publishedTypes.push(message.type);
    return this.inner.publish(messages);
  }

  subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    return this.inner.subscribe(spec, onDelivery);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
