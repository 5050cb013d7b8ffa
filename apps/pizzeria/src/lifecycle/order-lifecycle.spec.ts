import { randomUUID } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { createPizzeria, type Pizzeria } from '../app/pizzeria.js';
import type { PizzeriaOptions } from '../app/pizzeria-options.js';
import { parsePizzeriaConfig } from '../app/pizzeria-config.js';
import type { Notification } from '../notifications/notification.js';
import type { StockLine } from '../persistence/inventory-store.js';
import { PizzeriaDriver } from '../testing/pizzeria-driver.js';

const running: Pizzeria[] = [];

async function start(options: PizzeriaOptions): Promise<{ pizzeria: Pizzeria; api: PizzeriaDriver }> {
  const pizzeria = await createPizzeria({
    service: 'pizzeria',
    transport: 'memory',
    url: `memory://${randomUUID()}`,
    database: ':memory:',
    bakeTimeMs: 30,
    outboxPollIntervalMs: 100,
    ...options,
  });
  running.push(pizzeria);
  return { pizzeria, api: new PizzeriaDriver(pizzeria.http) };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((pizzeria) => pizzeria.stop()));
});

describe('the OrderLifecycle saga', () => {
  it('cancels an order left unpaid past the payment timeout, for non-payment, and releases its stock', async () => {
    const { pizzeria, api } = await start({ paymentTimeoutMs: 400 });
    const stockBefore = await api.get<{ ingredients: StockLine[] }>('/stock');
    const placed = await api.placeOrder();
    const cancelled = await api.waitForStatus(placed.id, 'cancelled');
    expect(cancelled.cancellationReason).toMatch(/^payment not received within 0\.4 s$/);
    expect(Date.parse(cancelled.cancelledAt!) - Date.parse(placed.placedAt)).toBeGreaterThanOrEqual(400);
    await api.eventually(async () => {
      const { ingredients } = await api.get<{ ingredients: StockLine[] }>('/stock');
      return JSON.stringify(ingredients) === JSON.stringify(stockBefore.ingredients) ? true : undefined;
    }, 'the reservation released');
    await api.eventually(async () => ((await pizzeria.bus.sagaInstance('OrderLifecycle', placed.id))?.status === 'completed' ? true : undefined), 'the saga completed');
  });

  it('leaves a paid order alone: the payment timeout is dropped', async () => {
    const { pizzeria, api } = await start({ paymentTimeoutMs: 500 });
    const placed = await api.placeOrder();
    await api.post(`/orders/${placed.id}/pay`);
    await api.waitForStatus(placed.id, 'ready');
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await api.get<{ status: string }>(`/orders/${placed.id}`)).status).toBe('ready');
    expect(await pizzeria.bus.sagaInstance('OrderLifecycle', placed.id)).toMatchObject({ status: 'active', state: { stage: 'paid' } });
  });

  it('apologises once with a voucher when the order is not delivered by the promised time', async () => {
    const { api } = await start({ deliveryPromiseMs: 600 });
    const placed = await api.placeOrder();
    await api.post(`/orders/${placed.id}/pay`);
    const late = await api.eventually(async () => {
      const { notifications } = await api.get<{ notifications: Notification[] }>(`/notifications?orderId=${placed.id}`);
      return notifications.find((n) => n.body.includes('running late'));
    }, 'the late-delivery SMS');
    expect(late.body).toContain(`Voucher LATE-${placed.id.slice(0, 8).toUpperCase()}: 5.00 off`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { notifications } = await api.get<{ notifications: Notification[] }>(`/notifications?orderId=${placed.id}`);
    expect(notifications.filter((n) => n.body.includes('running late'))).toHaveLength(1);
  });

  it('reads the time limits from flags and environment variables', () => {
    const config = parsePizzeriaConfig(['--payment-timeout', '3s', '--delivery-promise', '30m']);
    expect(config !== 'help' && config.options).toMatchObject({ paymentTimeoutMs: 3_000, deliveryPromiseMs: 1_800_000 });
    const fromEnv = parsePizzeriaConfig([], { PIZZERIA_PAYMENT_TIMEOUT: '1h', PIZZERIA_DELIVERY_PROMISE: '250ms' });
    expect(fromEnv !== 'help' && fromEnv.options).toMatchObject({ paymentTimeoutMs: 3_600_000, deliveryPromiseMs: 250 });
    expect(() => parsePizzeriaConfig(['--payment-timeout', 'soon'])).toThrow(/not a duration/);
  });
});
