import { EventType, eventBrand } from '@cloudbus/core';

import { kitchenCookingStartedSchema } from '../events/event-schemas.js';

/** A kitchen device started cooking an order (reported over MQTT). */
@EventType('com.mariopizzeria.kitchen.cooking-started', { version: 1, subject: (e: KitchenCookingStarted) => e.orderId, schema: kitchenCookingStartedSchema })
export class KitchenCookingStarted {
  declare readonly [eventBrand]: 'com.mariopizzeria.kitchen.cooking-started';
  constructor(
    readonly orderId: string,
    /** ISO 8601. */
    readonly startedAt: string,
    /** ISO 8601. */
    readonly readyBy: string,
  ) {}
}
