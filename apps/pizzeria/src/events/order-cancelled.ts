import { EventType, eventBrand } from '@cloudbus/core';

import { orderCancelledSchema } from './event-schemas.js';

/** The order was cancelled before cooking started. */
@EventType('com.mariopizzeria.order.cancelled', { version: 1, subject: (e: OrderCancelled) => e.orderId, schema: orderCancelledSchema })
export class OrderCancelled {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.cancelled';
  constructor(
    readonly orderId: string,
    readonly reason: string,
    /** ISO 8601. */
    readonly cancelledAt: string,
  ) {}
}
