import { EventType, eventBrand } from '@cloudbus/core';

/** The order was not delivered by the promised time (raised once by the `OrderLifecycle` saga), with a voucher for the customer. */
@EventType('com.mariopizzeria.order.delivery-delayed', { version: 1, subject: (e: DeliveryDelayed) => e.orderId })
export class DeliveryDelayed {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.delivery-delayed';
  constructor(
    readonly orderId: string,
    readonly customerPhone: string,
    /** ISO 8601: when it was promised. */
    readonly promisedBy: string,
    /** The voucher's code, one per order. */
    readonly voucherCode: string,
    /** Exact decimal string, e.g. "5.00". */
    readonly voucherAmount: string,
  ) {}
}
