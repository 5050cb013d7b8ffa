import { randomUUID } from 'node:crypto';

import type { Event } from '@cloudbus/core';

import { OrderCancelled } from '../events/order-cancelled.js';
import { OrderCookingStarted } from '../events/order-cooking-started.js';
import { OrderDelivered } from '../events/order-delivered.js';
import type { OrderLine } from '../events/order-line.js';
import { OrderOutForDelivery } from '../events/order-out-for-delivery.js';
import { OrderPlaced } from '../events/order-placed.js';
import { OrderReady } from '../events/order-ready.js';
import { PaymentProcessed } from '../events/payment-processed.js';
import { IllegalTransitionError } from './illegal-transition-error.js';
import { menuItem } from './menu.js';
import { Money } from './money.js';
import type { OrderStatus } from './order-status.js';
import { UnknownMenuItemError } from './unknown-menu-item-error.js';

/** What a customer asks for when placing an order. */
export interface PlaceOrder {
  readonly customerId: string;
  readonly phone: string;
  readonly email?: string | undefined;
  readonly items: readonly { readonly menuItemId: string; readonly quantity: number }[];
  readonly deliveryAddress: string;
}

/** The persisted state of an order. */
export interface OrderSnapshot {
  readonly id: string;
  readonly status: OrderStatus;
  /** Increases with every saved change; the repository uses it to refuse concurrent writes. */
  readonly version: number;
  readonly customerId: string;
  readonly phone: string;
  readonly email: string | null;
  readonly items: readonly OrderLine[];
  readonly total: string;
  readonly deliveryAddress: string;
  readonly estimatedDeliveryTime: string;
  readonly placedAt: string;
  readonly paidAt: string | null;
  readonly paymentReference: string | null;
  readonly cookingStartedAt: string | null;
  readonly readyAt: string | null;
  readonly outForDeliveryAt: string | null;
  readonly courier: string | null;
  readonly deliveredAt: string | null;
  readonly cancelledAt: string | null;
  readonly cancellationReason: string | null;
}

/** How long an order is expected to take from placing to the door. */
const ESTIMATED_DELIVERY_MS = 35 * 60_000;

/**
 * The Order aggregate: a state machine that refuses illegal transitions with an
 * {@link IllegalTransitionError} and raises a domain event for each change. The repository
 * saves the state and the raised events in one transaction (the transactional outbox).
 */
export class Order {
  #state: OrderSnapshot;
  #pending: Event[] = [];

  private constructor(state: OrderSnapshot) {
    this.#state = state;
  }

  /** Places a new order: prices it from the menu and raises OrderPlaced. */
  static place(request: PlaceOrder, now: Date = new Date()): Order {
    let totalCents = 0;
    const items = request.items.map((line, index): OrderLine => {
      const item = menuItem(line.menuItemId);
      if (item === undefined) throw new UnknownMenuItemError(line.menuItemId, index);
      totalCents += Money.toCents(item.price) * line.quantity;
      return { menuItemId: item.id, name: item.name, quantity: line.quantity, unitPrice: item.price };
    });
    const placedAt = now.toISOString();
    const order = new Order({
      id: randomUUID(),
      status: 'placed',
      version: 0,
      customerId: request.customerId,
      phone: request.phone,
      email: request.email ?? null,
      items,
      total: Money.format(totalCents),
      deliveryAddress: request.deliveryAddress,
      estimatedDeliveryTime: new Date(now.getTime() + ESTIMATED_DELIVERY_MS).toISOString(),
      placedAt,
      paidAt: null,
      paymentReference: null,
      cookingStartedAt: null,
      readyAt: null,
      outForDeliveryAt: null,
      courier: null,
      deliveredAt: null,
      cancelledAt: null,
      cancellationReason: null,
    });
    const s = order.#state;
    order.#pending.push(
      new OrderPlaced(s.id, s.customerId, s.phone, s.email, s.items, s.total, s.deliveryAddress, s.estimatedDeliveryTime, placedAt),
    );
    return order;
  }

  /** Rebuilds an order from its saved state. */
  static fromSnapshot(snapshot: OrderSnapshot): Order {
    return new Order(snapshot);
  }

  get id(): string {
    return this.#state.id;
  }

  get status(): OrderStatus {
    return this.#state.status;
  }

  get items(): readonly OrderLine[] {
    return this.#state.items;
  }

  /** The current state, including the version it was loaded at. */
  snapshot(): OrderSnapshot {
    return this.#state;
  }

  /** Events raised since the order was loaded, not saved yet. */
  get pendingEvents(): readonly Event[] {
    return this.#pending;
  }

  /** Called by the repository once the state and events are saved. */
  markSaved(): void {
    this.#state = { ...this.#state, version: this.#state.version + 1 };
    this.#pending = [];
  }

  /** placed -> paid. */
  pay(paymentReference: string, now: Date = new Date()): void {
    this.#require('paid', ['placed']);
    const paidAt = now.toISOString();
    this.#state = { ...this.#state, status: 'paid', paidAt, paymentReference };
    this.#pending.push(new PaymentProcessed(this.id, this.#state.total, paymentReference, paidAt));
  }

  /** paid -> cooking. */
  startCooking(startedAt: string, readyBy: string): void {
    this.#require('put in the oven', ['paid']);
    this.#state = { ...this.#state, status: 'cooking', cookingStartedAt: startedAt };
    this.#pending.push(new OrderCookingStarted(this.id, startedAt, readyBy));
  }

  /** cooking -> ready. */
  markReady(readyAt: string): void {
    this.#require('marked ready', ['cooking']);
    const paidAt = this.#state.paidAt ?? this.#state.placedAt;
    const preparationTimeSeconds = Math.max(0, Date.parse(readyAt) - Date.parse(paidAt)) / 1000;
    this.#state = { ...this.#state, status: 'ready', readyAt };
    const lines = this.#state.items.map((line) => `${line.quantity}× ${line.name}`).join(', ');
    this.#pending.push(
      new OrderReady(this.id, readyAt, preparationTimeSeconds, `Counter 1, bag labelled ${this.id.slice(0, 8)}: ${lines}. Deliver to ${this.#state.deliveryAddress}.`),
    );
  }

  /** ready -> out-for-delivery. */
  sendOutForDelivery(courier: string, now: Date = new Date()): void {
    this.#require('sent out for delivery', ['ready']);
    const departedAt = now.toISOString();
    this.#state = { ...this.#state, status: 'out-for-delivery', outForDeliveryAt: departedAt, courier };
    this.#pending.push(new OrderOutForDelivery(this.id, courier, departedAt));
  }

  /** out-for-delivery -> delivered. */
  markDelivered(now: Date = new Date()): void {
    this.#require('marked delivered', ['out-for-delivery']);
    const deliveredAt = now.toISOString();
    this.#state = { ...this.#state, status: 'delivered', deliveredAt };
    this.#pending.push(new OrderDelivered(this.id, deliveredAt));
  }

  /** placed or paid -> cancelled. */
  cancel(reason: string, now: Date = new Date()): void {
    this.#require('cancelled', ['placed', 'paid']);
    const cancelledAt = now.toISOString();
    this.#state = { ...this.#state, status: 'cancelled', cancelledAt, cancellationReason: reason };
    this.#pending.push(new OrderCancelled(this.id, reason, cancelledAt));
  }

  #require(action: string, allowedFrom: readonly OrderStatus[]): void {
    if (!allowedFrom.includes(this.#state.status)) {
      throw new IllegalTransitionError(this.id, this.#state.status, action, allowedFrom);
    }
  }
}
