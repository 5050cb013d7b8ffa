import { describe, expect, it } from 'vitest';

import { OrderCancelled } from '../events/order-cancelled.js';
import { OrderPlaced } from '../events/order-placed.js';
import type { OrderReady } from '../events/order-ready.js';
import { PaymentProcessed } from '../events/payment-processed.js';
import { IllegalTransitionError } from './illegal-transition-error.js';
import { Order } from './order.js';
import { UnknownMenuItemError } from './unknown-menu-item-error.js';

const request = {
  customerId: 'c-1',
  phone: '+39 081 555 0100',
  items: [
    { menuItemId: 'capricciosa', quantity: 3 },
    { menuItemId: 'tiramisu', quantity: 1 },
  ],
  deliveryAddress: 'Via Toledo 42',
};

describe('Order', () => {
  it('prices a new order exactly from the menu and raises OrderPlaced with domain data only', () => {
    const order = Order.place(request, new Date('2026-11-27T12:00:00Z'));
    expect(order.status).toBe('placed');
    const [placed] = order.pendingEvents;
    expect(placed).toBeInstanceOf(OrderPlaced);
    expect(placed).toEqual({
      orderId: order.id,
      customerId: 'c-1',
      customerPhone: '+39 081 555 0100',
      customerEmail: null,
      items: [
        { menuItemId: 'capricciosa', name: 'Capricciosa', quantity: 3, unitPrice: '14.25' },
        { menuItemId: 'tiramisu', name: 'Tiramisù', quantity: 1, unitPrice: '6.99' },
      ],
      total: '49.74',
      deliveryAddress: 'Via Toledo 42',
      estimatedDeliveryTime: '2026-11-27T12:35:00.000Z',
      placedAt: '2026-11-27T12:00:00.000Z',
    });
  });

  it('refuses an item that is not on the menu, naming it', () => {
    expect(() => Order.place({ ...request, items: [{ menuItemId: 'hawaiian', quantity: 1 }] })).toThrow(UnknownMenuItemError);
  });

  it('goes placed -> paid -> cooking -> ready -> out for delivery -> delivered, raising one event per step', () => {
    const order = Order.place(request, new Date('2026-11-27T12:00:00Z'));
    order.markSaved();
    order.pay('pay-1', new Date('2026-11-27T12:01:00Z'));
    order.startCooking('2026-11-27T12:02:00.000Z', '2026-11-27T12:10:00.000Z');
    order.markReady('2026-11-27T12:11:30.000Z');
    order.sendOutForDelivery('Luigi');
    order.markDelivered();
    expect(order.status).toBe('delivered');
    expect(order.pendingEvents.map((event) => event.constructor.name)).toEqual([
      'PaymentProcessed',
      'OrderCookingStarted',
      'OrderReady',
      'OrderOutForDelivery',
      'OrderDelivered',
    ]);
    expect(order.pendingEvents[0]).toEqual(new PaymentProcessed(order.id, '49.74', 'pay-1', '2026-11-27T12:01:00.000Z'));
    const ready = order.pendingEvents[2] as OrderReady;
    expect(ready.preparationTimeSeconds).toBe(630);
    expect(ready.pickupInstructions).toContain('3× Capricciosa');
  });

  it('refuses illegal transitions with a clear error and changes nothing', () => {
    const order = Order.place(request);
    expect(() => order.markDelivered()).toThrow(new IllegalTransitionError(order.id, 'placed', 'marked delivered', ['out-for-delivery']));
    expect(() => order.markReady(new Date().toISOString())).toThrow(/is placed: it cannot be marked ready \(only when cooking\)/);
    expect(order.status).toBe('placed');
    expect(order.pendingEvents).toHaveLength(1);
  });

  it('can be cancelled while placed or paid, not once cooking', () => {
    const early = Order.place(request);
    early.pay('p');
    early.cancel('changed my mind');
    expect(early.status).toBe('cancelled');
    expect(early.pendingEvents.at(-1)).toBeInstanceOf(OrderCancelled);
    expect(() => early.pay('again')).toThrow(IllegalTransitionError);

    const cooking = Order.place(request);
    cooking.pay('p');
    cooking.startCooking(new Date().toISOString(), new Date().toISOString());
    expect(() => cooking.cancel('too late')).toThrow(/cannot be cancelled \(only when placed or paid\)/);
  });

  it('comes back from its snapshot with its version, and counts saved versions', () => {
    const order = Order.place(request);
    order.markSaved();
    const copy = Order.fromSnapshot(order.snapshot());
    expect(copy.snapshot()).toEqual(order.snapshot());
    expect(copy.snapshot().version).toBe(1);
    expect(copy.pendingEvents).toHaveLength(0);
  });
});
