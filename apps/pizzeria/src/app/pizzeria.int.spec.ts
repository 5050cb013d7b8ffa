import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EventBus, decodeDeadLetter } from '@cloudbus/core';
import { canReadDeadLetters } from '@cloudbus/core/transport';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { TcpProxy } from '@cloudbus/test/tcp-proxy';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { OrderPlacedV1 } from '../events/order-placed-v1.js';
import type { Notification } from '../notifications/notification.js';
import { SmsGatewayError } from '../notifications/sms-gateway-error.js';
import type { AnalyticsReport } from '../persistence/analytics-store.js';
import type { StockLine } from '../persistence/inventory-store.js';
import { isolate, mqttIsolation } from '../testing/broker-isolation.js';
import { PizzeriaDriver } from '../testing/pizzeria-driver.js';
import { createPizzeria, type Pizzeria } from './pizzeria.js';
import type { PizzeriaOptions } from './pizzeria-options.js';

type Analytics = AnalyticsReport & { deadLetters: { count: number } };

const mqttUrl = brokerUrl('mqtt');

for (const kind of ['rabbitmq', 'nats', 'mqtt'] as const) {
  const url = brokerUrl(kind);

  describe.skipIf(!url || !mqttUrl)(`the pizzeria on ${kind}, kitchen over MQTT`, () => {
    const isolation = isolate(kind, url!);
    const kitchen = mqttIsolation(`${uniqueName('kitchen')}`);
    const running: Pizzeria[] = [];
    const extraBuses: EventBus[] = [];

    async function start(options: PizzeriaOptions = {}): Promise<{ pizzeria: Pizzeria; api: PizzeriaDriver }> {
      const pizzeria = await createPizzeria({
        service: uniqueName('pizzeria'),
        transport: kind,
        url: url!,
        transportOptions: isolation.transportOptions,
        kitchenTransport: 'mqtt',
        kitchenUrl: mqttUrl!,
        kitchenTransportOptions: kitchen.transportOptions,
        kitchenDevicesService: uniqueName('devices'),
        database: ':memory:',
        bakeTimeMs: 50,
        outboxPollIntervalMs: 200,
        ...options,
      });
      running.push(pizzeria);
      return { pizzeria, api: new PizzeriaDriver(pizzeria.http) };
    }

    async function stopAll(): Promise<void> {
      for (const pizzeria of running.splice(0)) {
        await isolation.beforeClose(pizzeria.bus.transport);
        await kitchen.beforeClose(pizzeria.kitchenBus.transport);
        await pizzeria.stop();
      }
      for (const bus of extraBuses.splice(0)) {
        await isolation.beforeClose(bus.transport);
        await bus.stop();
      }
    }

    afterEach(stopAll);

    afterAll(async () => {
      await isolation.cleanup();
    });

    it('delivers orders placed over HTTP, notifies, uses stock and counts them', async () => {
      const { api } = await start();
      const stockBefore = await api.get<{ ingredients: StockLine[] }>('/stock');
      const orders = await Promise.all([api.deliverOrder(), api.deliverOrder({ items: [{ menuItemId: 'diavola', quantity: 3 }] })]);
      expect(orders.map((order) => order.status)).toEqual(['delivered', 'delivered']);
      const analytics = await api.eventually(async () => {
        const report = await api.get<Analytics>('/analytics');
        return report.ordersDelivered === 2 && report.ordersReady === 2 ? report : undefined;
      }, 'both deliveries counted');
      expect(analytics).toMatchObject({ ordersPlaced: 2, ordersPaid: 2, revenue: '61.99', deadLetters: { count: 0 } });
      const notifications = await api.eventually(async () => {
        const { notifications } = await api.get<{ notifications: Notification[] }>('/notifications');
        return notifications.length === 6 ? notifications : undefined;
      }, 'six notifications');
      expect(notifications.filter((n) => n.channel === 'sms')).toHaveLength(4);
      const stockAfter = await api.get<{ ingredients: StockLine[] }>('/stock');
      const used = (name: string) =>
        stockBefore.ingredients.find((l) => l.ingredient === name)!.quantity - stockAfter.ingredients.find((l) => l.ingredient === name)!.quantity;
      expect(used('dough')).toBe(5);
      expect(used('salami')).toBe(3);
      const { timeline } = await api.order(orders[0]!.id);
      expect(timeline.some((step) => step.kind === 'handler-succeeded' && step.handler?.endsWith('-kitchen.KitchenReports.orderReady'))).toBe(true);
    });

    it('retries a failing SMS sender and dead-letters it while the order completes', async () => {
      const { pizzeria, api } = await start({ smsSender: { send: () => Promise.reject(new SmsGatewayError('gateway down')) } });
      const delivered = await api.deliverOrder();
      expect(delivered.status).toBe('delivered');
      await api.eventually(async () => ((await api.get<Analytics>('/analytics')).deadLetters.count >= 2 ? true : undefined), 'two SMS dead letters', 60_000);
      const transport = pizzeria.bus.transport;
      if (canReadDeadLetters(transport)) {
        const deadLetter = await api.eventually(async () => {
          const all = (await transport.readDeadLetters()).map(decodeDeadLetter);
          return all.find((d) => d.record?.handler === `${pizzeria.bus.service}.CustomerCommunication.confirmBySms` && d.cloudEvent?.correlationid === delivered.id);
        }, 'the SMS dead letter on the broker');
        expect(deadLetter.record).toMatchObject({ reason: 'retries-exhausted', attempts: 4, error: { type: 'SmsGatewayError', message: 'gateway down' } });
      }
      const { notifications } = await api.get<{ notifications: Notification[] }>(`/notifications?orderId=${delivered.id}`);
      expect(notifications.map((n) => n.channel)).toEqual(['email']);
    });

    it('upcasts a version 1 OrderPlaced published by an old publisher and handles it', async () => {
      const { api } = await start();
      const legacy = new EventBus({ service: uniqueName('legacy'), transport: kind, url: url!, transportOptions: isolation.transportOptions });
      await legacy.start();
      extraBuses.push(legacy);
      const orderId = `legacy-${uniqueName('order')}`;
      const now = new Date().toISOString();
      await legacy.publish(new OrderPlacedV1(orderId, 'c-1', '+39 081 555 0199', [{ menuItemId: 'marinara', name: 'Marinara', quantity: 1, unitPrice: '8.00' }], '8.00', 'Via Roma 1', now, now));
      const sms = await api.eventually(async () => {
        const { notifications } = await api.get<{ notifications: Notification[] }>(`/notifications?orderId=${orderId}`);
        return notifications.length > 0 ? notifications : undefined;
      }, 'the SMS of the v1 order');
      expect(sms).toEqual([expect.objectContaining({ channel: 'sms', recipient: '+39 081 555 0199' })]);
      await api.eventually(async () => ((await api.get<Analytics>('/analytics')).ordersPlaced === 1 ? true : undefined), 'the v1 order counted');
    });

    it('shares the work between two instances on one broker without handling an event twice', async () => {
      const database = join(tmpdir(), `pizzeria-${randomUUID()}.db`);
      const service = uniqueName('pizzeria');
      try {
        const first = await start({ service, database });
        const second = await start({ service, database, kitchenDevices: 'external' });
        const orders = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? first.api : second.api).deliverOrder({ email: undefined })));
        expect(orders.every((order) => order.status === 'delivered')).toBe(true);
        const sms = await first.api.eventually(async () => {
          const { notifications } = await first.api.get<{ notifications: Notification[] }>('/notifications?limit=1000');
          return notifications.length >= 16 ? notifications : undefined;
        }, 'sixteen SMS');
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect((await first.api.get<{ notifications: Notification[] }>('/notifications?limit=1000')).notifications).toHaveLength(sms.length);
        expect(sms).toHaveLength(16);
        const worked = [first.pizzeria, second.pizzeria].map(
          (p) => orders.flatMap((o) => p.timeline.timeline(o.id)).filter((step) => step.kind === 'handler-succeeded' && step.handler === `${service}.KitchenWorkflow`).length,
        );
        expect(worked[0]! + worked[1]!).toBeGreaterThanOrEqual(8);
        expect(Math.min(...worked)).toBeGreaterThan(0);
      } finally {
        await stopAll();
        await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${database}${suffix}`, { force: true })));
      }
    });

    it('saves an order while the broker is unreachable, and the outbox delivers its events once it is back', async () => {
      const target = new URL(url!);
      const proxy = new TcpProxy(target.hostname, Number(target.port));
      const port = await proxy.restore();
      try {
        const viaProxy = new URL(url!);
        viaProxy.port = String(port);
        const { api } = await start({ url: viaProxy.toString(), outboxMaxRetryDelayMs: 1_000 });
        await proxy.cut();
        const placed = await api.placeOrder();
        expect(placed.status).toBe('placed');
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(await api.get('/health')).toMatchObject({ outboxPending: 1 });
        expect((await api.get<Analytics>('/analytics')).ordersPlaced).toBe(0);

        await proxy.restore();
        await api.eventually(async () => ((await api.get<Analytics>('/analytics')).ordersPlaced === 1 ? true : undefined), 'the order counted after the broker is back', 60_000);
        expect(await api.get('/health')).toMatchObject({ outboxPending: 0 });
        await api.post(`/orders/${placed.id}/pay`);
        await api.waitForStatus(placed.id, 'ready', 60_000);
      } finally {
        await stopAll(); // while the proxy still answers: cleaning up goes through it
        await proxy.cut();
      }
    });
  });
}
