import { EventType, eventBrand } from '@cloudbus/core';

import { orderDeliveredSchema } from './event-schemas.js';

/** The customer has the order. */
@EventType('com.mariopizzeria.order.delivered', { version: 1, subject: (e: OrderDelivered) => e.orderId, schema: orderDeliveredSchema })
export class OrderDelivered {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.delivered';
  constructor(
    readonly orderId: string,
    /** ISO 8601. */
    readonly deliveredAt: string,
  ) {}
}
