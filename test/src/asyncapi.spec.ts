import 'reflect-metadata';

import { Parser } from '@asyncapi/parser';
import { asyncApiDocument, eventTypeOf, type EventClass } from '@cloudbus/core';
import { describe, expect, it } from 'vitest';

// The pizzeria's own handler and event classes, by path: the pizzeria depends on this package.
import { InventoryLow } from '../../apps/pizzeria/src/events/inventory-low.js';
import { OrderCancelled } from '../../apps/pizzeria/src/events/order-cancelled.js';
import { OrderCookingStarted } from '../../apps/pizzeria/src/events/order-cooking-started.js';
import { OrderDelivered } from '../../apps/pizzeria/src/events/order-delivered.js';
import { OrderOutForDelivery } from '../../apps/pizzeria/src/events/order-out-for-delivery.js';
import { OrderPlaced } from '../../apps/pizzeria/src/events/order-placed.js';
import { OrderReady } from '../../apps/pizzeria/src/events/order-ready.js';
import { PaymentProcessed } from '../../apps/pizzeria/src/events/payment-processed.js';
import { AnalyticsProjection } from '../../apps/pizzeria/src/handlers/analytics-projection.js';
import { CustomerCommunication } from '../../apps/pizzeria/src/handlers/customer-communication.js';
import { InventoryProjection } from '../../apps/pizzeria/src/handlers/inventory-projection.js';
import { KitchenReports } from '../../apps/pizzeria/src/handlers/kitchen-reports.js';
import { KitchenWorkflow } from '../../apps/pizzeria/src/handlers/kitchen-workflow.js';

const publishes: EventClass[] = [OrderPlaced, PaymentProcessed, OrderCookingStarted, OrderReady, OrderOutForDelivery, OrderDelivered, OrderCancelled, InventoryLow];
const handlers = [KitchenWorkflow, CustomerCommunication, InventoryProjection, AnalyticsProjection, KitchenReports];

describe("the pizzeria's AsyncAPI document", () => {
  for (const [transport, url] of [['rabbitmq', 'amqp://rabbit:5672/shop'], ['nats', 'nats://nats:4222'], ['mqtt', 'mqtt://broker:1883']] as const) {
    it(`validates with the AsyncAPI parser (${transport})`, async () => {
      const document = asyncApiDocument({ service: 'pizzeria', version: '0.1.0', transport, url, handlers, publishes });
      const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(document));
      const errors = diagnostics.filter((d) => d.severity === 0);
      expect(errors.map((d) => `${d.path.join('/')}: ${d.message}`)).toEqual([]);
      expect(parsed).toBeDefined();
      expect(parsed!.version()).toBe('3.0.0');
      expect(parsed!.info().title()).toBe('pizzeria');
      // Every published event type is a message on its own channel, sent by the pizzeria...
      const sent = parsed!.operations().filterBySend().flatMap((op) => op.messages().all().map((m) => m.name()));
      expect(new Set(sent)).toEqual(new Set(publishes.map((c) => eventTypeOf(c)!.type)));
      // ...and every handler is a receive operation on its event's channel.
      const received = parsed!.operations().filterByReceive().map((op) => op.id());
      expect(received).toEqual(expect.arrayContaining(['pizzeria.KitchenWorkflow', 'pizzeria.CustomerCommunication.confirmBySms', 'pizzeria.KitchenReports.orderReady']));
      const placed = parsed!.channels().all().find((c) => c.messages().all().some((m) => m.name() === 'com.mariopizzeria.order.placed'));
      expect(placed?.address()).toBe({ rabbitmq: 'com.mariopizzeria.order.placed', nats: 'cloudbus.com.mariopizzeria.order.placed', mqtt: 'cloudbus/com/mariopizzeria/order/placed' }[transport]);
    });
  }
});
