import { randomUUID } from 'node:crypto';

import { EventType, eventBrand } from '@cloudbus/core';

/** One pizza line of an order. */
export interface OrderLine {
  readonly pizza: string;
  readonly size: string;
  readonly quantity: number;
}

/** The data every benchmark sends: a ~300-byte JSON order, stamped with its send time. */
export interface OrderPayload {
  readonly orderId: string;
  readonly customerId: string;
  readonly items: readonly OrderLine[];
  readonly total: string;
  readonly deliveryAddress: string;
  /** `performance.now()` when it was published: latency is measured from it, in the same process. */
  readonly sentAt: number;
}

const ITEMS: readonly OrderLine[] = [
  { pizza: 'Margherita', size: 'large', quantity: 2 },
  { pizza: 'Quattro Formaggi', size: 'medium', quantity: 1 },
];

/** The event cloudbus publishes: the same fields as {@link OrderPayload}, as its data. */
@EventType('com.mariopizzeria.order.placed', { version: 1, subject: (e: OrderPlaced) => e.orderId })
export class OrderPlaced implements OrderPayload {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.placed';
  constructor(
    readonly orderId: string,
    readonly customerId: string,
    readonly items: readonly OrderLine[],
    readonly total: string,
    readonly deliveryAddress: string,
    readonly sentAt: number,
  ) {}
}

/** The `i`-th order as an event, stamped now. */
export function orderPlaced(i: number, sentAt = performance.now()): OrderPlaced {
  return new OrderPlaced(`order-${i}`, 'customer-4711', ITEMS, '41.97', '12 Via Roma, 00184 Roma, Italia, 3rd floor, ring twice', sentAt);
}

/** The `i`-th order as the JSON bytes a raw client sends, stamped now. */
export function orderBytes(i: number): Buffer {
  return Buffer.from(JSON.stringify(orderPlaced(i)), 'utf8');
}

/**
 * The CloudEvent attributes cloudbus sends with the `i`-th order in binary mode, as strings: what a
 * raw client adds to carry the same envelope (AMQP headers, NATS headers, MQTT user properties).
 */
export function cloudEventAttributes(i: number): Record<string, string> {
  const id = randomUUID();
  return {
    specversion: '1.0',
    id,
    source: '/bench',
    type: 'com.mariopizzeria.order.placed',
    time: new Date().toISOString(),
    subject: `order-${i}`,
    dataversion: '1',
    correlationid: id,
  };
}
