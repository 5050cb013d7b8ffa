import { EventType, eventBrand } from '@cloudbus/core';

import { orderPlacedSchema } from './event-schemas.js';
import type { OrderLine } from './order-line.js';

/**
 * A customer placed an order. Version 2 adds the optional `customerEmail`; version 1 events
 * (see `OrderPlacedV1`) are upcast with `customerEmail: null`.
 */
@EventType('com.mariopizzeria.order.placed', {
  version: 2,
  subject: (e: OrderPlaced) => e.orderId,
  schema: orderPlacedSchema,
  upcast: { 1: (v1: Record<string, unknown>) => ({ ...v1, customerEmail: null }) },
})
export class OrderPlaced {
  declare readonly [eventBrand]: 'com.mariopizzeria.order.placed';
  constructor(
    readonly orderId: string,
    readonly customerId: string,
    readonly customerPhone: string,
    /** Since version 2; null when the customer gave none. */
    readonly customerEmail: string | null,
    readonly items: readonly OrderLine[],
    /** Exact decimal string, e.g. "31.98". */
    readonly total: string,
    readonly deliveryAddress: string,
    /** ISO 8601. */
    readonly estimatedDeliveryTime: string,
    /** ISO 8601. */
    readonly placedAt: string,
  ) {}
}
