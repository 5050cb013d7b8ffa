import 'reflect-metadata';

import { describe, expect, it } from 'vitest';

import { EventHandler, retry } from '../index.js';
import { OrderPlaced } from '../spec-support/example-events.js';
import { createTestBus } from '../testing/test-bus.js';

function chargeCard(orderId: string): never {
  throw new RangeError(`card declined for ${orderId}`);
}

@EventHandler(OrderPlaced, { retry: retry.none() })
class Billing {
  handle(event: OrderPlaced): void {
    chargeCard(event.orderId);
  }
}

describe('deadletterstack', () => {
  it("keeps the handler's frames and leaves out cloudbus's own and Node's internals", async () => {
    const t = await createTestBus({ handlers: [Billing] });
    try {
      await t.publish(new OrderPlaced('o-1'));
      const deadLetter = await t.waitForDeadLetter();
      const frames = deadLetter.record!.error.stack!.split(' | ');
      expect(frames[0]).toMatch(/^at chargeCard .*handler-frames\.spec\.ts:\d+/);
      expect(frames[1]).toMatch(/^at Billing\.handle .*handler-frames\.spec\.ts:\d+/);
      expect(frames.filter((f) => /packages\/core\/src\/(bus|middleware|transport)\/|node:internal/.test(f))).toEqual([]);
    } finally {
      await t.stop();
    }
  });
});
