import { EventType, eventBrand } from '@cloudbus/core';

import { orderPlacedV1Schema } from './event-schemas.js';
import type { OrderLine } from './order-line.js';

/**
 * Version 1 of OrderPlaced, as publishers before version 2 sent it (no `customerEmail`). Kept
 * to show and test the upcaster: version 1 events still on the broker are read as version 2.
 */
@EventType('com.mariopizzeria.order.placed', { version: 1, subject: (e: OrderPlacedV1) => e.orderId, schema: orderPlacedV1Schema })
export class OrderPlacedV1 {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.placed';
  constructor(
    readonly orderId: string,
    readonly customerId: string,
    readonly customerPhone: string,
    readonly items: readonly OrderLine[],
    readonly total: string,
    readonly deliveryAddress: string,
    readonly estimatedDeliveryTime: string,
    readonly placedAt: string,
  ) {}
}
