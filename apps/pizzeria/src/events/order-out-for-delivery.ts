import { EventType, eventBrand } from '@cloudbus/core';

import { orderOutForDeliverySchema } from './event-schemas.js';

/** A courier left with the order. */
@EventType('com.mariopizzeria.order.out-for-delivery', { version: 1, subject: (e: OrderOutForDelivery) => e.orderId, schema: orderOutForDeliverySchema })
export class OrderOutForDelivery {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.out-for-delivery';
  constructor(
    readonly orderId: string,
    readonly courier: string,
    /** ISO 8601. */
    readonly departedAt: string,
  ) {}
}
