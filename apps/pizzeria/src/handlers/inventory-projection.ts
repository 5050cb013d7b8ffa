import 'reflect-metadata';

import { On } from '@cloudbus/core';
import { inject, injectable } from 'inversify';

import { InventoryLow } from '../events/inventory-low.js';
import { OrderCancelled } from '../events/order-cancelled.js';
import { InventoryStore } from '../persistence/inventory-store.js';
import { RetryPolicies } from './retry-policies.js';

/**
 * The stock side of the pizzeria: reorders an ingredient from its supplier when it runs low
 * (recorded as an alert in GET /stock), and puts back what a cancelled order had reserved.
 */
@injectable()
export class InventoryProjection {
  constructor(@inject(InventoryStore) private readonly inventory: InventoryStore) {}

  @On(InventoryLow, { retry: RetryPolicies.projection })
  async reorder(event: InventoryLow): Promise<void> {
    await this.inventory.reorder(event);
  }

  @On(OrderCancelled, { retry: RetryPolicies.projection })
  async releaseStock(event: OrderCancelled): Promise<void> {
    await this.inventory.release(event.orderId);
  }
}
