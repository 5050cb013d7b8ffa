import 'reflect-metadata';

import { EventType, On, OnTimeout, Saga, StartedBy, eventBrand, retry, type SagaContext } from '@cloudbus/core';
import { inject, injectable } from 'inversify';

import { DeliveryDelayed } from '../events/delivery-delayed.js';
import { OrderCancelled } from '../events/order-cancelled.js';
import { OrderDelivered } from '../events/order-delivered.js';
import { OrderOutForDelivery } from '../events/order-out-for-delivery.js';
import { OrderPlaced } from '../events/order-placed.js';
import { PaymentProcessed } from '../events/payment-processed.js';
import { PaymentWindowExpired } from '../events/payment-window-expired.js';

/** Injection token of the {@link LifecycleSettings}. */
export const LIFECYCLE_SETTINGS = Symbol.for('pizzeria.LifecycleSettings');

/** The order lifecycle's time limits (flags `--payment-timeout`, `--delivery-promise`). */
export interface LifecycleSettings {
  /** How long an order may stay unpaid before it is cancelled, in ms. */
  readonly paymentTimeoutMs: number;
  /** How long after it is placed an order is promised at the door, in ms. */
  readonly deliveryPromiseMs: number;
}

/** Timeout: the payment window of an order closed. Only ever sent to the saga itself. */
@EventType('com.mariopizzeria.order-lifecycle.payment-due')
export class PaymentDue {
  declare readonly [eventBrand]: 'com.mariopizzeria.order-lifecycle.payment-due';
}

/** Timeout: the promised delivery time of an order passed. */
@EventType('com.mariopizzeria.order-lifecycle.delivery-due')
export class DeliveryDue {
  declare readonly [eventBrand]: 'com.mariopizzeria.order-lifecycle.delivery-due';
}

/** What the saga keeps per order. */
export interface OrderLifecycleState {
  readonly orderId: string;
  readonly phone: string;
  /** ISO 8601. */
  readonly promisedBy: string;
  stage: 'awaiting-payment' | 'paid' | 'on-the-road';
  lateNotified: boolean;
}

/** The voucher a late order earns. */
export const LATE_VOUCHER_AMOUNT = '5.00';

/**
 * The order's lifecycle, from placed to delivered or cancelled: an order left unpaid past the
 * payment window is cancelled (through {@link PaymentWindowExpired}: the `Order` aggregate stays
 * the arbiter, so a payment accepted meanwhile wins), and an order not delivered by the promised
 * time earns the customer an apology and a voucher ({@link DeliveryDelayed}), once.
 */
@Saga<OrderLifecycleState>('OrderLifecycle', {
  key: (e: { readonly orderId: string }) => e.orderId,
  retry: retry.exponential({ attempts: 8, initialDelayMs: 200, maxDelayMs: 5_000 }),
})
@injectable()
export class OrderLifecycle {
  constructor(@inject(LIFECYCLE_SETTINGS) private readonly settings: LifecycleSettings) {}

  @StartedBy(OrderPlaced, {
    init: (e: OrderPlaced): OrderLifecycleState => ({ orderId: e.orderId, phone: e.customerPhone, promisedBy: e.placedAt, stage: 'awaiting-payment', lateNotified: false }),
  })
  placed(e: OrderPlaced, ctx: SagaContext<OrderLifecycleState>): void {
    if (!ctx.isNew) return;
    const promisedBy = new Date(Date.parse(e.placedAt) + this.settings.deliveryPromiseMs);
    ctx.state = { ...ctx.state, promisedBy: promisedBy.toISOString() };
    ctx.requestTimeout(new PaymentDue(), { delayMs: this.settings.paymentTimeoutMs });
    ctx.requestTimeout(new DeliveryDue(), { at: promisedBy });
  }

  /** May overtake OrderPlaced (another subscription): retried until the saga exists. */
  @On(PaymentProcessed, { onMissing: 'retry' })
  paid(_e: PaymentProcessed, ctx: SagaContext<OrderLifecycleState>): void {
    if (ctx.state.stage === 'awaiting-payment') ctx.state.stage = 'paid';
    ctx.cancelTimeout(PaymentDue);
  }

  @On(OrderOutForDelivery)
  onTheRoad(_e: OrderOutForDelivery, ctx: SagaContext<OrderLifecycleState>): void {
    ctx.state.stage = 'on-the-road';
  }

  @OnTimeout(PaymentDue)
  async paymentDue(_t: PaymentDue, ctx: SagaContext<OrderLifecycleState>): Promise<void> {
    if (ctx.state.stage !== 'awaiting-payment') return;
    await ctx.publish(new PaymentWindowExpired(ctx.state.orderId, this.settings.paymentTimeoutMs, ctx.now().toISOString()));
  }

  @OnTimeout(DeliveryDue)
  async deliveryDue(_t: DeliveryDue, ctx: SagaContext<OrderLifecycleState>): Promise<void> {
    if (ctx.state.lateNotified || ctx.state.stage === 'awaiting-payment') return;
    ctx.state.lateNotified = true;
    await ctx.publish(new DeliveryDelayed(ctx.state.orderId, ctx.state.phone, ctx.state.promisedBy, `LATE-${ctx.state.orderId.slice(0, 8).toUpperCase()}`, LATE_VOUCHER_AMOUNT));
  }

  @On(OrderDelivered)
  delivered(_e: OrderDelivered, ctx: SagaContext<OrderLifecycleState>): void {
    ctx.complete();
  }

  @On(OrderCancelled)
  cancelled(_e: OrderCancelled, ctx: SagaContext<OrderLifecycleState>): void {
    ctx.complete();
  }
}
