import { EventType } from '@cloudbus/core';

/** An ingredient fell under its reorder threshold. */
@EventType('com.mariopizzeria.inventory.low', { version: 1, subject: (e: InventoryLow) => e.ingredient })
export class InventoryLow {
  constructor(
    readonly ingredient: string,
    readonly quantity: number,
    readonly threshold: number,
    readonly supplier: string,
  ) {}
}
