import 'reflect-metadata';

import { Container, inject, injectable } from 'inversify';
import { afterEach, describe, expect, it } from 'vitest';

import { BusNotStartedError, BusStateError, ConfigurationError, EventBus, EventHandler, EventType, InvalidHandlerError, MemoryBroker, MemoryTransport, On, PermanentError, STRUCTURED_CONTENT_TYPE, UnknownTransportError, idempotency, UnregisteredEventError, cloudbus, currentEventContext, eventBrand, retry, silentLogger, type EventContext, type TelemetryEvent, type WireMessage } from '../index.js';
import { registerTransport } from '../transport/index.js';
import { CookingStarted } from '../spec-support/example-events.js';
import { createTestBus, type TestBus } from '../testing/index.js';

/** An order with its total, and its id as the subject: more than the example events' OrderPlaced. */
@EventType('com.example.order.placed', { version: 1, subject: (e: OrderPlaced) => e.orderId })
class OrderPlaced {
  declare readonly [eventBrand]: 'com.example.order.placed';
  constructor(
    readonly orderId: string,
    readonly total: number,
  ) {}
}

/** A dependency with a per-message (request) scope, to observe the resolution scope. */
class UnitOfWork {
  readonly id = Math.random();
}

class Oven {
  readonly baked: string[] = [];
}

@EventHandler(OrderPlaced, { retry: retry.exponential({ attempts: 5, initialDelayMs: 10, maxDelayMs: 50 }) })
class Kitchen {
  constructor(
    @inject(Oven) private readonly oven: Oven,
    @inject(UnitOfWork) readonly unitOfWork: UnitOfWork,
    @inject(UnitOfWork) readonly sameUnitOfWork: UnitOfWork,
  ) {}

  async handle(event: OrderPlaced, ctx: EventContext): Promise<void> {
    this.oven.baked.push(event.orderId);
    seen.push({ handler: this, attempt: ctx.attempt, correlation: ctx.cloudEvent.correlationid });
    await ctx.publish(new CookingStarted(event.orderId));
  }
}

const seen: { handler: Kitchen; attempt: number; correlation: unknown }[] = [];
const confirmations: string[] = [];

@injectable()
class Notifications {
  constructor(@inject(Oven) readonly oven: Oven) {}

  @On(OrderPlaced)
  confirm(event: OrderPlaced): void {
    confirmations.push(`confirm ${event.orderId}`);
  }

  @On(CookingStarted)
  async cooking(event: CookingStarted): Promise<void> {
    // Published through the bus itself: the ambient context still links it to the order.
    confirmations.push(`cooking ${event.orderId} (${String(currentEventContext()?.cloudEvent.correlationid !== undefined)})`);
  }
}

const stopping: TestBus[] = [];
afterEach(async () => {
  for (const bus of stopping.splice(0)) await bus.stop();
  seen.length = 0;
  confirmations.length = 0;
});

describe('EventBus through Inversify', () => {
  it('runs the README example: container module, constructor injection, @On classes, publish and stop', async () => {
    const container = new Container();
    container.bind(Oven).toSelf().inSingletonScope();
    container.bind(UnitOfWork).toSelf().inRequestScope();
    container.load(cloudbus({ service: 'shop', transport: new MemoryTransport({ broker: new MemoryBroker() }), handlers: [Kitchen, Notifications] }));
    const bus = container.get(EventBus);
    const done = new Promise<void>((resolve) => {
      bus.telemetry.on((t) => {
        if (t.kind === 'handler-succeeded' && t.handler === 'shop.Notifications.cooking') resolve();
      });
    });
    await bus.start();
    await bus.publish(new OrderPlaced('o-1', 31.98));
    await bus.publish(new OrderPlaced('o-2', 12.5));
    await done;
    await bus.stop();

    expect(container.get(Oven).baked.sort()).toEqual(['o-1', 'o-2']);
    expect(confirmations).toContain('confirm o-1');
    expect(confirmations.some((line) => line.startsWith('cooking o-') && line.endsWith('(true)'))).toBe(true);
    // A fresh resolution per event: new handler instances, request-scoped dependencies shared
    // within one event only.
    expect(seen).toHaveLength(2);
    expect(seen[0]!.handler).not.toBe(seen[1]!.handler);
    expect(seen[0]!.handler.unitOfWork).toBe(seen[0]!.handler.sameUnitOfWork);
    expect(seen[0]!.handler.unitOfWork).not.toBe(seen[1]!.handler.unitOfWork);
  });

  it('keeps a handler the application bound itself, in the scope it chose', async () => {
    const container = new Container();
    container.bind(Oven).toSelf().inSingletonScope();
    container.bind(UnitOfWork).toSelf();
    container.bind(Kitchen).toSelf().inSingletonScope();
    container.load(cloudbus({ service: 'shop', transport: new MemoryTransport({ broker: new MemoryBroker() }), handlers: [Kitchen] }));
    const bus = container.get(EventBus);
    await bus.start();
    await bus.publish([new OrderPlaced('o-1', 1), new OrderPlaced('o-2', 1)]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await bus.stop();
    expect(seen).toHaveLength(2);
    expect(seen[0]!.handler).toBe(seen[1]!.handler);
  });
});

describe('two buses in one container', () => {
  it('binds a second bus under its own token', async () => {
    const KITCHEN_BUS = Symbol('KitchenBus');
    const container = new Container();
    container.bind(Oven).toSelf().inSingletonScope();
    container.bind(UnitOfWork).toSelf();
    container.load(cloudbus({ service: 'shop', transport: new MemoryTransport({ broker: new MemoryBroker() }) }));
    container.load(cloudbus({ service: 'kitchen', transport: new MemoryTransport({ broker: new MemoryBroker() }), handlers: [Kitchen] }, { token: KITCHEN_BUS }));
    const shop = container.get(EventBus);
    const kitchen = container.get<EventBus>(KITCHEN_BUS);
    expect(kitchen).not.toBe(shop);
    expect([shop.service, kitchen.service]).toEqual(['shop', 'kitchen']);
  });
});

describe('configuration errors', () => {
  it('names the package to install for an unknown or missing transport, at construction', () => {
    const error = (() => {
      try {
        return new EventBus({ service: 'shop', transport: 'carrier-pigeon', logger: silentLogger });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnknownTransportError);
    expect(String(error)).toMatch(/pnpm add @cloudbus\/transport-carrier-pigeon/);
    expect(String(error)).toMatch(/Registered: .*memory/);
    expect(() => cloudbus({ service: 'shop', transport: 'carrier-pigeon' })).toThrow(UnknownTransportError);
  });

  it('suggests the closest known transport name instead of a package that cannot exist', () => {
    for (const [given, meant] of [['RabbitMQ', 'rabbitmq'], ['rabitmq', 'rabbitmq'], ['NATS', 'nats'], ['mqt', 'mqtt'], ['Memory', 'memory']] as const) {
      const error = (() => {
        try {
          return cloudbus({ service: 'shop', transport: given });
        } catch (e) {
          return e;
        }
      })() as UnknownTransportError;
      expect(error).toBeInstanceOf(UnknownTransportError);
      expect(error.suggestion).toBe(meant);
      expect(error.message).toContain(`did you mean '${meant}'?`);
      expect(error.message).not.toContain(`@cloudbus/transport-${given}`);
    }
    expect((() => { try { cloudbus({ service: 'shop', transport: 'kafka' }); } catch (e) { return e; } return undefined; })()).toMatchObject({ suggestion: undefined });
  });

  it('validates transportOptions at construction, through the transport factory', () => {
    registerTransport('strict-test', ({ options }) => {
      if (options['lanes'] !== undefined && typeof options['lanes'] !== 'number') throw new ConfigurationError(`strict-test: lanes must be a number.`);
      return new MemoryTransport({ broker: new MemoryBroker() });
    });
    expect(() => new EventBus({ service: 'shop', transport: 'strict-test', transportOptions: { lanes: 'four' } })).toThrow(/lanes must be a number/);
    expect(() => cloudbus({ service: 'shop', transport: 'strict-test', transportOptions: { lanes: 'four' } })).toThrow(/lanes must be a number/);
    expect(() => new EventBus({ service: 'shop', transport: 'strict-test', transportOptions: { lanes: 4 } })).not.toThrow();
  });

  it('names the problem when bus.use() or middleware gets no middleware', () => {
    const bus = new EventBus({ service: 'shop', transport: new MemoryTransport({ broker: new MemoryBroker() }) });
    expect(() => bus.use(undefined as never)).toThrow(/bus\.use\(\) takes a Middleware object \(\{ name, publish\?, consume\? \}\), got undefined/);
    expect(() => bus.use(idempotency as never)).toThrow(/Pass what the factory returns: idempotency\(\), not idempotency/);
    expect(() => bus.use({ name: 'empty' } as never)).toThrow(/neither a publish nor a consume/);
    expect(() => cloudbus({ service: 'shop', middleware: [undefined as never] })).toThrow(/cloudbus\(\{ middleware \}\) takes a Middleware object/);
  });

  it('refuses a missing service, a bad URL and a bad content mode at construction', () => {
    expect(() => cloudbus({ transport: 'memory' })).toThrow(/set 'service' \(or CLOUDBUS_SERVICE\)/);
    expect(() => cloudbus({ service: 'shop', url: 'not a url' })).toThrow(ConfigurationError);
    expect(() => cloudbus({ service: 'shop', transport: new MemoryTransport(), url: 'nats://a:4222, nats://b:4222' })).not.toThrow();
    expect(() => cloudbus({ service: 'shop', url: 'nats://a:4222,not a url' })).toThrow(ConfigurationError);
    expect(() => cloudbus({ service: 'shop', url: 'amqp://user:s3cret@host:5672', contentMode: 'fancy' as never })).toThrow(/contentMode/);
    expect(() => cloudbus({ service: 'has space' })).toThrow(/service 'has space'/);
    expect(() => retry.exponential({ attempts: 0, initialDelayMs: 10 })).toThrow(/attempts must be an integer of 1 or more/);
    expect(() => retry.exponential({ attempts: 3, initialDelayMs: 100, maxDelayMs: 10 })).toThrow(/maxDelayMs/);
  });

  it('never shows URL credentials in its errors', () => {
    const error = (() => {
      try {
        cloudbus({ service: 'shop', url: 'amqp://user:s3cret@host:5672 x' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(String(error)).not.toMatch(/s3cret/);
  });

  it('reads transport, url and service from CLOUDBUS_* variables', async () => {
    process.env['CLOUDBUS_SERVICE'] = 'from-env';
    process.env['CLOUDBUS_TRANSPORT'] = 'memory';
    process.env['CLOUDBUS_URL'] = 'memory://env-broker';
    try {
      const bus = new EventBus({ handlers: [Kitchen] }, () => new Kitchen(new Oven(), new UnitOfWork(), new UnitOfWork()));
      await bus.start();
      expect(bus.service).toBe('from-env');
      expect(bus.transport.name).toBe('memory');
      expect((bus.transport as MemoryTransport).broker).toBe(MemoryBroker.named('env-broker'));
      await bus.stop();
    } finally {
      delete process.env['CLOUDBUS_SERVICE'];
      delete process.env['CLOUDBUS_TRANSPORT'];
      delete process.env['CLOUDBUS_URL'];
    }
  });

  it('explains handler declaration mistakes', async () => {
    class NotAnEvent {}
    class Orphan {}
    @EventHandler(NotAnEvent)
    class Confused {
      handle(): void {}
    }
    @EventHandler(OrderPlaced, { name: 'Same' })
    class First {
      handle(): void {}
    }
    @EventHandler(OrderPlaced, { name: 'Same' })
    class Second {
      handle(): void {}
    }
    const start = (handlers: (new () => object)[]) => new EventBus({ service: 'shop', handlers, logger: silentLogger }).start();
    await expect(start([Confused])).rejects.toThrow(/NotAnEvent, which is not an event class: decorate it with @EventType/);
    await expect(start([Orphan])).rejects.toThrow(InvalidHandlerError);
    await expect(start([First, Second])).rejects.toThrow(/Two handlers are named 'Same'/);
    expect(() =>
      EventHandler(OrderPlaced)(
        class NoHandle {
          other(): void {}
        } as never,
      ),
    ).toThrow(/needs a handle\(event, ctx\) method/);
  });
});

describe('bus life cycle', () => {
  it('refuses to publish before start and after stop, and to start twice; stopping twice is fine', async () => {
    const bus = new EventBus({ service: 'shop', transport: new MemoryTransport({ broker: new MemoryBroker() }) });
    await expect(bus.publish(new OrderPlaced('o-1', 1))).rejects.toBeInstanceOf(BusNotStartedError);
    await bus.start();
    await expect(bus.start()).rejects.toBeInstanceOf(BusStateError);
    // @ts-expect-error publish takes only instances of @EventType classes; the run-time check stays for JavaScript callers
    await expect(bus.publish({ orderId: 'plain object' })).rejects.toBeInstanceOf(UnregisteredEventError);
    await expect(bus.publish([new OrderPlaced('a', 1), new OrderPlaced('b', 1)], { id: 'same' })).rejects.toThrow(/options.id names one event/);
    await expect(bus.publish(new OrderPlaced('o-1', 1), { extensions: { type: 'spoofed' } })).rejects.toThrow(/context attribute, not an extension/);
    await expect(bus.publish(new OrderPlaced('o-1', 1), { extensions: { 'Bad-Name': 1 } })).rejects.toThrow(/Invalid attribute name 'Bad-Name'/);
    await expect(bus.publish(new OrderPlaced('o-1', 1), { extensions: { ratio: 0.5 } })).rejects.toThrow(/must be an integer, a string or a boolean/);
    await expect(bus.publish(new OrderPlaced('line\nbreak', 1))).rejects.toThrow(/'subject' holds control characters/);
    await bus.stop();
    await expect(bus.stop()).resolves.toBeUndefined();
    await expect(bus.publish(new OrderPlaced('o-1', 1))).rejects.toThrow(/the bus is stopped/);
    await expect(bus.start()).rejects.toThrow(/create a new one/);
  });

  it('puts events on the wire in the content mode the transport prefers, unless the options name one', async () => {
    for (const [requested, expected] of [[undefined, STRUCTURED_CONTENT_TYPE], ['binary', 'application/json']] as const) {
      const transport = new MemoryTransport({ broker: new MemoryBroker() });
      Object.assign(transport, { capabilities: { ...transport.capabilities, preferredContentMode: 'structured' } });
      const sent: WireMessage[] = [];
      const publish = transport.publish.bind(transport);
      transport.publish = async (messages) => {
        sent.push(...messages.map((m) => m.message));
        await publish(messages);
      };
      const bus = new EventBus({ service: 'shop', transport, ...(requested ? { contentMode: requested } : {}) });
      await bus.start();
      await bus.publish(new OrderPlaced('o-1', 1));
      await bus.stop();
      expect(sent.map((m) => m.contentType)).toEqual([expected]);
    }
  });
});

describe('handler outcomes', () => {
  it('reports every step of a retried then successful handler as telemetry', async () => {
    let calls = 0;
    @EventHandler(OrderPlaced, { retry: retry.fixed({ attempts: 3, delayMs: 20 }) })
    class Flaky {
      handle(): void {
        calls++;
        if (calls < 3) throw new Error(`failure ${calls}`);
      }
    }
    const t = await createTestBus({ handlers: [Flaky] });
    stopping.push(t);
    await t.publish(new OrderPlaced('o-1', 1));
    await t.waitForTelemetry((e) => e.kind === 'handler-succeeded');
    const kinds = t.telemetry.filter((e) => e.kind !== 'published').map((e) => `${e.kind}${'attempt' in e ? `#${e.attempt}` : ''}`);
    expect(kinds).toEqual([
      'handler-started#1',
      'handler-failed#1',
      'retry-scheduled',
      'handler-started#2',
      'handler-failed#2',
      'retry-scheduled',
      'handler-started#3',
      'handler-succeeded#3',
    ]);
    const failed = t.telemetry.find((e): e is Extract<TelemetryEvent, { kind: 'handler-failed' }> => e.kind === 'handler-failed')!;
    expect(failed).toMatchObject({ handler: 'test.Flaky', willRetry: true, error: { type: 'Error', message: 'failure 1' }, eventType: 'com.example.order.placed' });
    expect(await t.deadLetters()).toHaveLength(0);
  });

  it('sends errors matched by deadLetterOn, or not matched by retryOn, straight to dead letter', async () => {
    class GatewayDown extends Error {}
    class BadPhoneNumber extends Error {}
    let smsCalls = 0;
    let emailCalls = 0;
    @EventHandler(OrderPlaced, { name: 'Sms', retry: retry.immediate(5), deadLetterOn: [BadPhoneNumber] })
    class Sms {
      handle(): void {
        smsCalls++;
        throw new BadPhoneNumber('+1 not a number');
      }
    }
    @EventHandler(OrderPlaced, { name: 'Email', retry: retry.immediate(5), retryOn: (error) => error instanceof GatewayDown })
    class Email {
      handle(): void {
        emailCalls++;
        throw new TypeError('template missing');
      }
    }
    const t = await createTestBus({ handlers: [Sms, Email] });
    stopping.push(t);
    await t.publish(new OrderPlaced('o-1', 1));
    const sms = await t.waitForDeadLetter((d) => d.record?.handler === 'test.Sms');
    const email = await t.waitForDeadLetter((d) => d.record?.handler === 'test.Email');
    expect(sms.record).toMatchObject({ reason: 'non-retryable', attempts: 1 });
    expect(email.record).toMatchObject({ reason: 'non-retryable', attempts: 1, error: { type: 'TypeError', message: 'template missing' } });
    expect([smsCalls, emailCalls]).toEqual([1, 1]);
  });

  it('stops retrying once maxElapsedMs would be passed', async () => {
    let calls = 0;
    @EventHandler(OrderPlaced, { retry: retry.fixed({ attempts: 100, delayMs: 40, maxElapsedMs: 100 }) })
    class Slow {
      handle(): void {
        calls++;
        throw new Error('still down');
      }
    }
    const t = await createTestBus({ handlers: [Slow] });
    stopping.push(t);
    await t.publish(new OrderPlaced('o-1', 1));
    const deadLetter = await t.waitForDeadLetter();
    expect(deadLetter.record).toMatchObject({ reason: 'retries-exhausted' });
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(4);
    expect(deadLetter.record!.attempts).toBe(calls);
  });

  it('hands the event to PermanentError handlers once and dead-letters it with the message', async () => {
    @EventHandler(OrderPlaced)
    class Refuses {
      handle(event: OrderPlaced): void {
        throw new PermanentError(`order ${event.orderId} does not exist`);
      }
    }
    const t = await createTestBus({ handlers: [Refuses] });
    stopping.push(t);
    await t.publish(new OrderPlaced('o-404', 1));
    const deadLetter = await t.waitForDeadLetter();
    expect(deadLetter.record?.error).toMatchObject({ type: 'PermanentError', message: 'order o-404 does not exist' });
    expect(deadLetter.cloudEvent?.data).toEqual({ orderId: 'o-404', total: 1 });
  });
});

describe('versioned events', () => {
  @EventType('com.example.pizza.rated', { version: 1 })
  class PizzaRatedV1 {
    declare readonly [eventBrand]: 'com.example.pizza.rated';
    constructor(readonly stars: number) {}
  }

  @EventType('com.example.pizza.rated', {
    version: 3,
    upcast: {
      1: (v1: { stars: number }) => ({ stars: v1.stars, comment: '' }),
      2: (v2: { stars: number; comment: string }) => ({ ...v2, channel: 'unknown' }),
    },
  })
  class PizzaRated {
    declare readonly [eventBrand]: 'com.example.pizza.rated';
    constructor(
      readonly stars: number,
      readonly comment: string,
      readonly channel: string,
    ) {}
  }

  @EventType('com.example.pizza.rated', { version: 4 })
  class PizzaRatedV4 {
    declare readonly [eventBrand]: 'com.example.pizza.rated';
    constructor(readonly score: number) {}
  }

  it('upcasts an old version to the handler class, and dead-letters a newer one', async () => {
    const received: PizzaRated[] = [];
    @EventHandler(PizzaRated)
    class Ratings {
      handle(event: PizzaRated): void {
        received.push(event);
      }
    }
    const t = await createTestBus({ handlers: [Ratings] });
    stopping.push(t);
    await t.publish(new PizzaRatedV1(5));
    await t.publish(new PizzaRated(4, 'crisp', 'app'));
    await t.publish(new PizzaRatedV4(90));
    const deadLetter = await t.waitForDeadLetter();
    await t.waitForTelemetry((e) => e.kind === 'handler-succeeded' && received.length === 2);
    expect(received.map((e) => ({ ...e }))).toEqual([
      { stars: 5, comment: '', channel: 'unknown' },
      { stars: 4, comment: 'crisp', channel: 'app' },
    ]);
    expect(received[0]).toBeInstanceOf(PizzaRated);
    expect(deadLetter.record).toMatchObject({ reason: 'unsupported-version', attempts: 0 });
    expect(deadLetter.record?.error.message).toMatch(/version 4, newer than version 3/);
  });
});
