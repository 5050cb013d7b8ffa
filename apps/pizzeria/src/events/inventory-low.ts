import { EventType, eventBrand } from '@cloudbus/core';

import { inventoryLowSchema } from './event-schemas.js';

/** An ingredient fell under its reorder threshold. */
@EventType('com.mariopizzeria.inventory.low', { version: 1, subject: (e: InventoryLow) => e.ingredient, schema: inventoryLowSchema })
export class InventoryLow {
  declare readonly [eventBrand]: 'com.mariopizzeria.inventory.low';
  constructor(
    readonly ingredient: string,
    readonly quantity: number,
    readonly threshold: number,
    readonly supplier: string,
  ) {}
}
