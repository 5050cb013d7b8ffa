import { EventType, eventBrand } from '@cloudbus/core';

import { kitchenTicketQueuedSchema } from '../events/event-schemas.js';

/** An order waits for a kitchen device (travels over MQTT to the in-store devices). */
@EventType('com.mariopizzeria.kitchen.ticket-queued', { version: 1, subject: (e: KitchenTicketQueued) => e.orderId, schema: kitchenTicketQueuedSchema })
export class KitchenTicketQueued {
  declare readonly [eventBrand]: 'com.mariopizzeria.kitchen.ticket-queued';
  constructor(
    readonly orderId: string,
    readonly items: readonly { readonly name: string; readonly quantity: number }[],
    /** ISO 8601. */
    readonly queuedAt: string,
  ) {}
}
