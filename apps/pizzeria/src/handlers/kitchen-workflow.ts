import 'reflect-metadata';

import { EventBus, EventHandler } from '@cloudbus/core';
import { inject, injectable } from 'inversify';

import { KITCHEN_BUS, KITCHEN_OUTBOX } from '../app/tokens.js';
import { menuItem } from '../domain/menu.js';
import type { OrderLine } from '../events/order-line.js';
import { PaymentProcessed } from '../events/payment-processed.js';
import { KitchenTicketQueued } from '../kitchen/kitchen-ticket-queued.js';
import { InventoryStore } from '../persistence/inventory-store.js';
import { OrderRepository } from '../persistence/order-repository.js';
import { SqlOutbox } from '../persistence/sql-outbox.js';
import { RetryPolicies } from './retry-policies.js';

/** Ingredient -> units needed for the order's lines. */
export function ingredientsFor(items: readonly OrderLine[]): Map<string, number> {
  const needs = new Map<string, number>();
  for (const line of items) {
    for (const [ingredient, units] of Object.entries(menuItem(line.menuItemId)?.ingredients ?? {})) {
      needs.set(ingredient, (needs.get(ingredient) ?? 0) + units * line.quantity);
    }
  }
  return needs;
}

/**
 * The kitchen workflow, once an order is paid: reserves its ingredients (InventoryLow is raised
 * when one falls under its threshold), cancels the order when an ingredient is out, else queues
 * it for a kitchen device over the kitchen bus. The ticket goes through the kitchen outbox, in
 * the reservation's transaction: stock is never taken without the ticket being queued, even when
 * the kitchen's broker is down. The device reports cooking started and ready.
 */
@EventHandler(PaymentProcessed, { retry: RetryPolicies.kitchen })
@injectable()
export class KitchenWorkflow {
  constructor(
    @inject(OrderRepository) private readonly orders: OrderRepository,
    @inject(InventoryStore) private readonly inventory: InventoryStore,
    @inject(KITCHEN_BUS) private readonly kitchen: EventBus,
    @inject(KITCHEN_OUTBOX) private readonly kitchenOutbox: SqlOutbox,
  ) {}

  async handle(event: PaymentProcessed): Promise<void> {
    const order = await this.orders.get(event.orderId);
    // Cancelled in the meantime, or a late redelivery of an order already cooking: nothing to do.
    if (order === undefined || order.status !== 'paid') return;
    const items = order.items.map((line) => ({ name: line.name, quantity: line.quantity }));
    const ticket = this.kitchen.prepare(new KitchenTicketQueued(order.id, items, new Date().toISOString()), { correlationId: order.id });
    const reservation = await this.inventory.reserve(order.id, ingredientsFor(order.items), (tx) => this.kitchenOutbox.append(tx, ticket));
    if (reservation.outcome === 'insufficient') {
      order.cancel(`out of ${reservation.missing.join(', ')}`);
      await this.orders.save(order);
      return;
    }
    if (reservation.outcome === 'reserved') this.kitchenOutbox.committed();
  }
}
