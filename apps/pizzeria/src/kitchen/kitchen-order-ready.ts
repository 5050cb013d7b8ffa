import { EventType, eventBrand } from '@cloudbus/core';

import { kitchenOrderReadySchema } from '../events/event-schemas.js';

/** A kitchen device finished an order (reported over MQTT). */
@EventType('com.mariopizzeria.kitchen.order-ready', { version: 1, subject: (e: KitchenOrderReady) => e.orderId, schema: kitchenOrderReadySchema })
export class KitchenOrderReady {
  declare readonly [eventBrand]: 'com.mariopizzeria.kitchen.order-ready';
  constructor(
    readonly orderId: string,
    /** ISO 8601. */
    readonly readyAt: string,
  ) {}
}
