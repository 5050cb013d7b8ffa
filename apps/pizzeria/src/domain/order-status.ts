/**
 * Where an order is in its life:
 * placed -> paid -> cooking -> ready -> out-for-delivery -> delivered, and cancelled from placed or paid.
 */
export type OrderStatus = 'placed' | 'paid' | 'cooking' | 'ready' | 'out-for-delivery' | 'delivered' | 'cancelled';

/** Every status, in the order an order goes through them (cancelled last). */
export const ORDER_STATUSES: readonly OrderStatus[] = ['placed', 'paid', 'cooking', 'ready', 'out-for-delivery', 'delivered', 'cancelled'];
