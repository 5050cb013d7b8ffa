import 'reflect-metadata';

import { EventSchemaError } from '@cloudbus/core';
import { createTestBus } from '@cloudbus/core/testing';
import { describe, expect, it } from 'vitest';

import { OrderPlaced } from './order-placed.js';
import { PaymentProcessed } from './payment-processed.js';

const now = new Date().toISOString();

describe("the pizzeria's event schemas", () => {
  it('let valid events through and refuse a bad amount or an empty order, naming the field', async () => {
    const t = await createTestBus();
    try {
      const line = { menuItemId: 'margherita', name: 'Margherita', quantity: 1, unitPrice: '8.50' };
      await t.publish(new OrderPlaced('o-1', 'c-1', '+39 06 1234', null, [line], '8.50', 'Via Roma 1', now, now));
      await t.publish(new PaymentProcessed('o-1', '8.50', 'pay-1', now));
      const badAmount = await t.publish(new PaymentProcessed('o-1', 'eight fifty', 'pay-1', now)).catch((e: unknown) => e);
      expect(badAmount).toBeInstanceOf(EventSchemaError);
      expect(String(badAmount)).toMatch(/PaymentProcessed \('com\.mariopizzeria\.order\.payment-processed'\).*amount/);
      const empty = await t.publish(new OrderPlaced('o-2', 'c-1', '+39 06 1234', null, [], '0.00', 'Via Roma 1', now, now)).catch((e: unknown) => e);
      expect(String(empty)).toMatch(/items/);
      expect(t.published).toHaveLength(2);
    } finally {
      await t.stop();
    }
  });
});
