import 'reflect-metadata';

import { describe, expect, it } from 'vitest';

import { createTestBus } from '../testing/test-bus.js';
import { EventHandler, On, UnregisteredEventError, eventBrand, EventType, type EventContext } from '../index.js';
import { CookingStarted, OrderPlaced } from '../spec-support/example-events.js';

// Compile-time checks: each `@ts-expect-error` below fails `pnpm typecheck` if the line compiles.
// CookingStarted has OrderPlaced's shape (an orderId) and another event type: only their
// [eventBrand] marks tell them apart.

// @ts-expect-error an @EventType class must declare [eventBrand]
@EventType('com.example.typing.unbranded')
class Unbranded {
  constructor(readonly orderId: string) {}
}

// @ts-expect-error the mark must name the class's own type
@EventType('com.example.typing.mismatch')
class Mismatch {
  declare readonly [eventBrand]: 'com.example.order.placed';
}

class Kitchen {
  @On(OrderPlaced) placed(_event: OrderPlaced, _ctx: EventContext): void {}
  @On(OrderPlaced) anyEvent(_event: object): void {}
  // @ts-expect-error @On(OrderPlaced) on a method taking another event type
  @On(OrderPlaced) cooked(_event: CookingStarted): void {}
}

@EventHandler(OrderPlaced)
class Oven {
  handle(_event: OrderPlaced): void {}
}

// @ts-expect-error @EventHandler(OrderPlaced) on a class whose handle takes another event type
@EventHandler(OrderPlaced)
class WrongOven {
  handle(_event: CookingStarted): void {}
}

describe('typed publish', () => {
  it('keeps the run-time check for what the compiler cannot see (JavaScript, casts)', async () => {
    const t = await createTestBus();
    try {
      await expect(t.publish(new OrderPlaced('o-1'))).resolves.toBeUndefined();
      await expect(t.publish(new CookingStarted('o-1'))).resolves.toBeUndefined();
      // @ts-expect-error an object literal is no event
      await expect(t.bus.publish({ orderId: 'x' })).rejects.toBeInstanceOf(UnregisteredEventError);
      // @ts-expect-error a Date is no event
      await expect(t.bus.publish(new Date())).rejects.toBeInstanceOf(UnregisteredEventError);
      // @ts-expect-error nor is an array of them
      await expect(t.bus.publish([new OrderPlaced('o-2'), { orderId: 'x' }])).rejects.toBeInstanceOf(UnregisteredEventError);
      expect([Unbranded, Mismatch, Kitchen, Oven, WrongOven].every((c) => typeof c === 'function')).toBe(true);
    } finally {
      await t.stop();
    }
  });
});
