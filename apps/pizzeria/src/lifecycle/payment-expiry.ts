import 'reflect-metadata';

import { On } from '@cloudbus/core';
import { inject, injectable } from 'inversify';

import { PaymentWindowExpired } from '../events/payment-window-expired.js';
import { OrderRepository } from '../persistence/order-repository.js';

/** The reason an order cancelled for non-payment carries (the web page shows it). */
export function nonPaymentReason(windowMs: number): string {
  const window = windowMs % 60_000 === 0 ? `${windowMs / 60_000} min` : `${Math.round(windowMs / 100) / 10} s`;
  return `payment not received within ${window}`;
}

/**
 * Cancels an order whose payment window expired, if it is still unpaid. The cancellation
 * (`OrderCancelled`) releases its stock reservation and completes its `OrderLifecycle`.
 * A conflict with a concurrent change (a payment) is retried, and then finds the order paid.
 */
@injectable()
export class PaymentExpiry {
  constructor(@inject(OrderRepository) private readonly orders: OrderRepository) {}

  @On(PaymentWindowExpired)
  async cancelUnpaid(event: PaymentWindowExpired): Promise<void> {
    const order = await this.orders.get(event.orderId);
    if (order?.status !== 'placed') return;
    order.cancel(nonPaymentReason(event.windowMs));
    await this.orders.save(order);
  }
}
