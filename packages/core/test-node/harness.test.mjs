// The test harness under `node --test`, as a project without vitest uses it: plain JavaScript,
// decorators applied as functions, the built package imported by its public name.
import 'reflect-metadata';

import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { EventHandler, EventType, WaitTimeoutError, retry } from '@cloudbus/core';
import { createTestBus } from '@cloudbus/core/testing';
import { inject, injectable } from 'inversify';

class OrderPlaced {
  constructor(orderId) {
    this.orderId = orderId;
  }
}
EventType('com.example.node-test.order.placed')(OrderPlaced);

class CookingStarted {
  constructor(orderId) {
    this.orderId = orderId;
  }
}
EventType('com.example.node-test.cooking.started')(CookingStarted);

class Oven {
  heat(orderId) {
    return `${orderId} in the oven`;
  }
}
injectable()(Oven);

class Kitchen {
  constructor(oven) {
    this.oven = oven;
  }
  async handle(event, ctx) {
    await ctx.publish(new CookingStarted(this.oven.heat(event.orderId)));
  }
}
inject(Oven)(Kitchen, undefined, 0);
EventHandler(OrderPlaced)(Kitchen);

class Burnt {
  handle() {
    throw new RangeError('oven too hot');
  }
}
EventHandler(OrderPlaced, { retry: retry.fixed({ attempts: 2, delayMs: 60_000 }) })(Burnt);

const buses = [];
after(async () => {
  for (const bus of buses) await bus.stop();
});

test('a handler with an injected dependency publishes what the test waits for', async () => {
  const t = await createTestBus({ handlers: [Kitchen] });
  buses.push(t);
  await t.publish(new OrderPlaced('o-1'));
  const cooking = await t.waitFor(CookingStarted, (e) => e.orderId.startsWith('o-1'));
  assert.equal(cooking.orderId, 'o-1 in the oven');
});

test('a failing handler is dead-lettered without waiting for its retry delays', async () => {
  const t = await createTestBus({ handlers: [Burnt], skipRetryDelays: true });
  buses.push(t);
  await t.publish(new OrderPlaced('o-2'));
  const deadLetter = await t.waitForDeadLetter();
  assert.equal(deadLetter.record?.reason, 'retries-exhausted');
  assert.equal(deadLetter.record?.attempts, 2);
  const timeout = await t.waitFor(CookingStarted, undefined, 50).catch((error) => error);
  assert.ok(timeout instanceof WaitTimeoutError);
});
