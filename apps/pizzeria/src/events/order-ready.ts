import { EventType, eventBrand } from '@cloudbus/core';

import { orderReadySchema } from './event-schemas.js';

/** The order is cooked and waits for its courier. */
@EventType('com.mariopizzeria.order.ready', { version: 1, subject: (e: OrderReady) => e.orderId, schema: orderReadySchema })
export class OrderReady {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.ready';
  constructor(
    readonly orderId: string,
    /** ISO 8601. */
    readonly readyAt: string,
    /** From payment to ready, in seconds (decimal, ms precision). */
    readonly preparationTimeSeconds: number,
    readonly pickupInstructions: string,
  ) {}
}
