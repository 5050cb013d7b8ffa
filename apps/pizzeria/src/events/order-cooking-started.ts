import { EventType, eventBrand } from '@cloudbus/core';

import { orderCookingStartedSchema } from './event-schemas.js';

/** The order went into the oven. */
@EventType('com.mariopizzeria.order.cooking-started', { version: 1, subject: (e: OrderCookingStarted) => e.orderId, schema: orderCookingStartedSchema })
export class OrderCookingStarted {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.cooking-started';
  constructor(
    readonly orderId: string,
    /** ISO 8601. */
    readonly startedAt: string,
    /** ISO 8601: when the kitchen expects it ready. */
    readonly readyBy: string,
  ) {}
}
