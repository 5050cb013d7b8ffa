import { EventType, eventBrand } from '@cloudbus/core';

import { paymentProcessedSchema } from './event-schemas.js';

/** The customer paid for the order. */
@EventType('com.mariopizzeria.order.payment-processed', { version: 1, subject: (e: PaymentProcessed) => e.orderId, schema: paymentProcessedSchema })
export class PaymentProcessed {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.payment-processed';
  constructor(
    readonly orderId: string,
    /** Exact decimal string. */
    readonly amount: string,
    readonly paymentReference: string,
    /** ISO 8601. */
    readonly paidAt: string,
  ) {}
}
