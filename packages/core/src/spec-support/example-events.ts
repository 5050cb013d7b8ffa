/**
 * Example events of a pizzeria, shared by core's specs: plain events whose only point is to be
 * published, handled, retried or dead-lettered. A spec whose test is about the event class itself
 * (its schema, its versions, its serialisation) declares its own.
 *
 * Not part of the package's build; vitest runs each spec file apart, so the classes are never
 * shared between two running specs.
 */
import { EventType, eventBrand } from '../events/event-type.js';

/** An order was placed. */
@EventType('com.example.order.placed')
export class OrderPlaced {
  declare readonly [eventBrand]: 'com.example.order.placed';
  constructor(readonly orderId: string) {}
}

/** An item was added to an open order. */
@EventType('com.example.order.item-added')
export class ItemAdded {
  declare readonly [eventBrand]: 'com.example.order.item-added';
  constructor(
    readonly orderId: string,
    readonly item: string,
  ) {}
}

/** The kitchen started cooking an order. */
@EventType('com.example.order.cooking')
export class CookingStarted {
  declare readonly [eventBrand]: 'com.example.order.cooking';
  constructor(readonly orderId: string) {}
}

/** An order is cooked and waits for a driver. */
@EventType('com.example.order.ready')
export class OrderReady {
  declare readonly [eventBrand]: 'com.example.order.ready';
  constructor(readonly orderId: string) {}
}

/** A driver left with an order. */
@EventType('com.example.order.out-for-delivery')
export class OutForDelivery {
  declare readonly [eventBrand]: 'com.example.order.out-for-delivery';
  constructor(readonly orderId: string) {}
}

/** An order reached its customer. */
@EventType('com.example.order.delivered')
export class OrderDelivered {
  declare readonly [eventBrand]: 'com.example.order.delivered';
  constructor(readonly orderId: string) {}
}

/** An order was paid. */
@EventType('com.example.payment.processed')
export class PaymentProcessed {
  declare readonly [eventBrand]: 'com.example.payment.processed';
  constructor(readonly orderId: string) {}
}

/** The time to pay has come, as a timeout without data. */
@EventType('com.example.payment.due')
export class PaymentDue {
  declare readonly [eventBrand]: 'com.example.payment.due';
}

/** An order was not paid in time. */
@EventType('com.example.payment.overdue')
export class PaymentOverdue {
  declare readonly [eventBrand]: 'com.example.payment.overdue';
  constructor(readonly orderId: string) {}
}

/** The receipt of a paid order was sent. */
@EventType('com.example.receipt.sent')
export class ReceiptSent {
  declare readonly [eventBrand]: 'com.example.receipt.sent';
  constructor(readonly orderId: string) {}
}

/** An event carrying only a number, for tests where the domain does not matter. */
@EventType('com.example.ping')
export class Ping {
  declare readonly [eventBrand]: 'com.example.ping';
  constructor(readonly n: number) {}
}
