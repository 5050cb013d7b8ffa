import 'reflect-metadata';

import { Container, inject, injectable } from 'inversify';
import { afterEach, describe, expect, it } from 'vitest';

import { ConfigurationError, EventBus, EventHandler, InvalidHandlerError, On, WaitTimeoutError, retry } from '../index.js';
import { OrderReady, OutForDelivery } from '../spec-support/example-events.js';
import { createTestBus, type TestBus } from './index.js';

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

  it('builds handlers through a container by default, so their @injectable dependencies are injected', async () => {
    @injectable()
    class Oven {
      bake(orderId: string): string {
        return `baked ${orderId}`;
      }
    }
    @EventHandler(OrderReady)
    class Kitchen {
      constructor(@inject(Oven) private readonly oven: Oven) {}
      async handle(event: OrderReady, ctx: { publish(e: object): Promise<void> }): Promise<void> {
        await ctx.publish(new OutForDelivery(this.oven.bake(event.orderId)));
      }
    }
    const t = await createTestBus({ handlers: [Kitchen] });
    buses.push(t);
    await t.publish(new OrderReady('o-3'));
    await expect(t.waitFor(OutForDelivery)).resolves.toMatchObject({ orderId: 'baked o-3' });
  });

  it('fails at once, saying to pass a container, when a handler depends on something the default container cannot build', async () => {
    interface Sms {
      send(text: string): void;
    }
    @EventHandler(OrderReady)
    class Texter {
      constructor(@inject('Sms') private readonly sms: Sms) {}
      handle(event: OrderReady): void {
        this.sms.send(event.orderId);
      }
    }
    const error = await createTestBus({ handlers: [Texter] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(String(error)).toMatch(/cannot build handler Texter: .*Sms/s);
    expect(String(error)).toContain('createTestBus({ container, handlers: [Texter] })');
  });

  it('names the missing @injectable() of an @On class whose constructor takes arguments', async () => {
    class Oven {}
    class Notifications {
      constructor(readonly oven: Oven) {}
      @On(OrderReady) ready(_event: OrderReady): void {}
    }
    const error = await createTestBus({ handlers: [Notifications] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidHandlerError);
    expect(String(error)).toMatch(/Notifications takes constructor arguments but has no @injectable\(\)/);
    expect(String(error)).not.toMatch(/emitDecoratorMetadata/);
  });

  it('lists the handler failures (handler, event, error) when a wait times out', async () => {
    @EventHandler(OrderReady, { retry: retry.none() })
    class Broken {
      handle(event: OrderReady): void {
        throw new TypeError(`Cannot read properties of undefined (reading 'bake') for ${event.orderId}`);
      }
    }
    const t = await createTestBus({ handlers: [Broken] });
    buses.push(t);
    await t.publish(new OrderReady('o-4'));
    await t.waitForTelemetry((e) => e.kind === 'dead-lettered');
    await t.publish(new OrderReady('o-5'));
    const error = (await t.waitFor(OutForDelivery, undefined, 200).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(error).toBeInstanceOf(WaitTimeoutError);
    // Only what failed during this wait (o-5), not what an earlier wait already saw (o-4).
    expect(error.failures).toEqual([
      expect.objectContaining({ handler: 'test.Broken', eventType: 'com.example.order.ready', attempt: 1, error: expect.objectContaining({ type: 'TypeError' }) }),
    ]);
    expect(error.message).toMatch(/test\.Broken on com\.example\.order\.ready \(id [^)]+\), attempt 1: TypeError: Cannot read properties of undefined \(reading 'bake'\) for o-5/);
    expect(error.message).not.toContain('o-4');

    const noDeadLetter = (await t.waitForDeadLetter((d) => d.record?.handler === 'nobody', 100).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(noDeadLetter).toBeInstanceOf(WaitTimeoutError);
    expect(noDeadLetter.message).toMatch(/No handler failed meanwhile/);
  });

  it('dead-letters a handler on the default retry policy within the default wait', async () => {
    @EventHandler(OrderReady)
    class AlwaysFails {
      handle(): void {
        throw new Error('oven on fire');
      }
    }
    const t = await createTestBus({ handlers: [AlwaysFails] });
    buses.push(t);
    await t.publish(new OrderReady('o-6'));
    const deadLetter = await t.waitForDeadLetter();
    expect(deadLetter.record).toMatchObject({ reason: 'retries-exhausted', attempts: 5 });
  });

  it('runs retries without their delays when skipRetryDelays is set', async () => {
    @EventHandler(OrderReady, { retry: retry.fixed({ attempts: 3, delayMs: 3_600_000 }) })
    class SlowSchedule {
      handle(): void {
        throw new Error('still broken');
      }
    }
    const t = await createTestBus({ handlers: [SlowSchedule], skipRetryDelays: true });
    buses.push(t);
    await t.publish(new OrderReady('o-8'));
    const deadLetter = await t.waitForDeadLetter();
    expect(deadLetter.record).toMatchObject({ reason: 'retries-exhausted', attempts: 3 });
    expect(t.telemetry.filter((e) => e.kind === 'retry-scheduled')).toHaveLength(2);
  });
});
