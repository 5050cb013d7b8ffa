import { EventType } from '@cloudbus/core';

/** The customer has the order. */
@EventType('com.mariopizzeria.order.delivered', { version: 1, subject: (e: OrderDelivered) => e.orderId })
export class OrderDelivered {
  constructor(
    readonly orderId: string,
    /** ISO 8601. */
    readonly deliveredAt: string,
  ) {}
}
