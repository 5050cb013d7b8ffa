import type { OrderStatus } from './order-status.js';

/** An order was asked to do something its current status does not allow. */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly orderId: string,
    readonly status: OrderStatus,
    readonly action: string,
    readonly allowedFrom: readonly OrderStatus[],
  ) {
    super(`Order ${orderId} is ${status}: it cannot be ${action} (only when ${allowedFrom.join(' or ')}).`);
  }
}
