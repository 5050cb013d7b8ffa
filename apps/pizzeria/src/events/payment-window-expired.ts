import { EventType, eventBrand } from '@cloudbus/core';

/** The order was not paid within the payment window (raised by the `OrderLifecycle` saga); the order is cancelled for it. */
@EventType('com.mariopizzeria.order.payment-window-expired', { version: 1, subject: (e: PaymentWindowExpired) => e.orderId })
export class PaymentWindowExpired {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.payment-window-expired';
  constructor(
    readonly orderId: string,
    /** How long the window was, in ms. */
    readonly windowMs: number,
    /** ISO 8601. */
    readonly expiredAt: string,
  ) {}
}
