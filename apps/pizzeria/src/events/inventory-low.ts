import { EventType, eventBrand } from '@cloudbus/core';

/** An ingredient fell under its reorder threshold. */
@EventType('com.mariopizzeria.inventory.low', { version: 1, subject: (e: InventoryLow) => e.ingredient })
export class InventoryLow {
  declare readonly [eventBrand]: 'com.mariopizzeria.inventory.low';
  constructor(
    readonly ingredient: string,
    readonly quantity: number,
    readonly threshold: number,
    readonly supplier: string,
  ) {}
}
