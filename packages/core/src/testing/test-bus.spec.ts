import 'reflect-metadata';

import { Container, inject } from 'inversify';
import { afterEach, describe, expect, it } from 'vitest';

import { EventBus, EventHandler, EventType, WaitTimeoutError, retry } from '../index.js';
import { createTestBus, type TestBus } from './index.js';

@EventType('com.example.order.ready')
class OrderReady {
  constructor(readonly orderId: string) {}
}

@EventType('com.example.order.out-for-delivery')
class OutForDelivery {
  constructor(readonly orderId: string) {}
}

/** Publishes through the injected bus, not the context: the ambient context still links the events. */
@EventHandler(OrderReady)
class Dispatcher {
  constructor(@inject(EventBus) private readonly bus: EventBus) {}

  async handle(event: OrderReady): Promise<void> {
    await this.bus.publish(new OutForDelivery(event.orderId));
  }
}

const buses: TestBus[] = [];
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.stop();
});

describe('createTestBus', () => {
  it('links events published through the injected bus inside a handler to the handled event', async () => {
    const t = await createTestBus({ container: new Container(), handlers: [Dispatcher] });
    buses.push(t);
    await t.publish(new OrderReady('o-7'), { correlationId: 'flow-7' });
    const out = await t.waitFor(OutForDelivery, (e) => e.orderId === 'o-7');
    expect(out).toBeInstanceOf(OutForDelivery);
    const [ready, delivered] = t.published.map((p) => p.cloudEvent);
    expect(delivered!.correlationid).toBe('flow-7');
    expect(delivered!.causationid).toBe(ready!.id);
  });

  it('finds events published before waitFor was called', async () => {
    const t = await createTestBus();
    buses.push(t);
    await t.publish([new OrderReady('o-1'), new OrderReady('o-2')]);
    await expect(t.waitFor(OrderReady, (e) => e.orderId === 'o-2')).resolves.toEqual(new OrderReady('o-2'));
  });

  it('times out with what was published instead', async () => {
    const t = await createTestBus();
    buses.push(t);
    await t.publish(new OrderReady('o-1'));
    const error = await t.waitFor(OutForDelivery, undefined, 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(String(error)).toMatch(/Waited for OutForDelivery; published so far: com.example.order.ready/);
  });

  it('lists dead letters with their failure record', async () => {
    @EventHandler(OrderReady, { retry: retry.none() })
    class Fails {
      handle(): void {
        throw new RangeError('no driver available');
      }
    }
    const t = await createTestBus({ handlers: [Fails] });
    buses.push(t);
    await t.publish(new OrderReady('o-9'));
    const deadLetter = await t.waitForDeadLetter();
    expect(deadLetter.record).toMatchObject({ reason: 'retries-exhausted', handler: 'test.Fails', attempts: 1, error: { type: 'RangeError' } });
    expect(await t.deadLetters()).toHaveLength(1);
  });
});
