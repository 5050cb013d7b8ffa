import { Container } from 'inversify';

import { cloudbus } from '../bus/cloudbus-module.js';
import { EventBus } from '../bus/event-bus.js';
import type { CloudbusOptions } from '../bus/options.js';
import { decodeDeadLetter, type DeadLetter } from '../dead-letter/dead-letter-message.js';
import type { CloudEvent } from '../envelope/cloud-event.js';
import { ConfigurationError, WaitTimeoutError, type HandlerFailure } from '../errors.js';
import { dataVersionOf, eventFromData, eventTypeOf, type Event, type EventClass } from '../events/event-type.js';
import type { PublishOptions } from '../handlers/event-context.js';
import type { HandlerFailedTelemetry, TelemetryEvent } from '../telemetry/telemetry.js';
import { MemoryBroker } from '../transport/memory/memory-broker.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import { canReadDeadLetters, type Transport } from '../transport/transport.js';
import { withoutRetryDelays } from './without-retry-delays.js';
import type { HandlerClass } from '../handlers/event-handler.js';
import type { SagaRecord } from '../sagas/saga-store.js';
import { VirtualClock, type Clock } from '../scheduling/clock.js';

/** Options of {@link createTestBus}: the bus options, with test-friendly defaults. */
export interface TestBusOptions extends Omit<CloudbusOptions, 'transport' | 'service' | 'clock'> {
  /**
   * `virtual`: time stands still until {@link TestBus.advanceTime} moves it; the memory broker
   * holds delayed redeliveries, scheduled events and saga timeouts on it. Only with the default
   * (memory) transport. A `Clock` is passed to the bus as it is.
   * @default the system clock
   */
  readonly clock?: 'virtual' | Clock;
  /** @default 'test' */
  readonly service?: string;
  /**
   * The transport. @default an in-memory transport on a fresh broker of its own, with `isolate`
   * set: handlers decode their own copy of each event, as from a real broker, so a test sees data
   * that does not survive JSON (a `Date`, a `Map`) the way production would
   */
  readonly transport?: Transport;
  /**
   * Resolve handlers from this container (loads `cloudbus(...)` into it). Pass one when a handler
   * depends on something that is not an `@injectable()` class (an interface token, a value).
   * @default a new container with `autobind`, so `@injectable()` dependencies are built as needed
   */
  readonly container?: Container;
  /**
   * Longest wait of `waitFor`, `waitForDeadLetter` and `waitForTelemetry`, in ms. The default
   * covers the default retry schedule (delays of about 200 + 400 + 800 + 1,600 ms).
   * @default 5_000
   */
  readonly timeoutMs?: number;
  /**
   * Redeliver failed events at once instead of after the retry policy's delay, so a test of a
   * handler on a slow schedule dead-letters in milliseconds. The number of attempts is unchanged;
   * telemetry still reports the delay the policy asked for.
   * @default false
   */
  readonly skipRetryDelays?: boolean;
}

/** An event seen leaving the bus. */
export interface PublishedEvent<T extends object = object> {
  /** The event object; undefined for events published from a prepared CloudEvent (outbox). */
  readonly event: T | undefined;
  readonly cloudEvent: CloudEvent;
}

/** A started bus with what a test needs to observe it. */
export interface TestBus {
  readonly bus: EventBus;
  /** Every event published through this bus (by tests and by handlers), in order. */
  readonly published: readonly PublishedEvent[];
  /** Every telemetry record, in order. */
  readonly telemetry: readonly TelemetryEvent[];
  /** Publishes through the bus. */
  publish(events: Event | readonly Event[], options?: PublishOptions): Promise<void>;
  /** Resolves with the first event of the class (published before or after the call) that matches. */
  waitFor<T extends object>(eventClass: EventClass<T>, predicate?: (event: T, cloudEvent: CloudEvent) => boolean, timeoutMs?: number): Promise<T>;
  /** Dead letters stored by the transport so far. */
  deadLetters(): Promise<DeadLetter[]>;
  /** Resolves with the first dead letter that matches. */
  waitForDeadLetter(predicate?: (deadLetter: DeadLetter) => boolean, timeoutMs?: number): Promise<DeadLetter>;
  /** Resolves with the first telemetry record that matches. */
  waitForTelemetry(predicate: (event: TelemetryEvent) => boolean, timeoutMs?: number): Promise<TelemetryEvent>;
  /**
   * With `clock: 'virtual'`: moves the clock `ms` forward, delivering what comes due on the way
   * (delayed retries, scheduled events, saga timeouts) in due order, and resolves once the bus is
   * idle again (nothing ready or being handled). Without a virtual clock it rejects.
   */
  advanceTime(ms: number): Promise<void>;
  /** Resolves once nothing is ready or being handled on the test's memory broker. */
  idle(): Promise<void>;
  /** The stored instance of a saga, or undefined. */
  saga(saga: HandlerClass | string, key: string): Promise<SagaRecord | undefined>;
  /** Stops the bus (idempotent here, for `afterEach`). */
  stop(): Promise<void>;
}

interface Waiter<T> {
  readonly match: (item: T) => boolean;
  readonly resolve: (item: T) => void;
}

/** Handler failures, kept so that a timed-out wait can say what went wrong meanwhile. */
class FailureLog {
  readonly #failures: HandlerFailure[] = [];
  /** Failures before this index were reported by (or happened before) a wait that has ended. */
  #settledUpTo = 0;

  record(event: HandlerFailedTelemetry): void {
    this.#failures.push({
      handler: event.handler,
      eventType: event.eventType ?? '(not a CloudEvent)',
      eventId: event.eventId,
      attempt: event.attempt,
      error: event.error,
    });
  }

  /** Marks the start of a wait; the returned function lists the failures since the previous wait ended. */
  begin(): () => HandlerFailure[] {
    const from = this.#settledUpTo;
    return () => this.#failures.slice(from);
  }

  /** A wait ended: later waits report only newer failures. */
  settle(): void {
    this.#settledUpTo = this.#failures.length;
  }
}

function waitOn<T>(
  seen: readonly T[],
  waiters: Set<Waiter<T>>,
  match: (item: T) => boolean,
  timeoutMs: number,
  what: () => string,
  failures: FailureLog,
): Promise<T> {
  const found = seen.find(match);
  if (found !== undefined) {
    failures.settle();
    return Promise.resolve(found);
  }
  const failedMeanwhile = failures.begin();
  return new Promise<T>((resolve, reject) => {
    const waiter: Waiter<T> = {
      match,
      resolve: (item) => {
        clearTimeout(timer);
        waiters.delete(waiter);
        failures.settle();
        resolve(item);
      },
    };
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      const failed = failedMeanwhile();
      failures.settle();
      reject(new WaitTimeoutError(`Nothing matched within ${timeoutMs} ms. ${what()}`, failed));
    }, timeoutMs);
    waiters.add(waiter);
  });
}

function offer<T>(item: T, waiters: Set<Waiter<T>>): void {
  for (const waiter of waiters) if (waiter.match(item)) waiter.resolve(item);
}

/**
 * Creates and starts a bus for tests: in memory on a broker of its own (isolated: every handler
 * decodes its copy, as over a broker) unless a transport is given, recording what is published,
 * dead-lettered and reported.
 *
 * Handlers are resolved through an Inversify container, as in production: a new one with
 * `autobind` unless `container` is given. Each handler class is resolved once here, so a
 * dependency the container cannot build fails now, with its name, rather than at the first event.
 * A wait that times out lists the handler failures that happened meanwhile.
 *
 * @example
 * ```ts
 * const t = await createTestBus({ handlers: [Kitchen] });
 * await t.publish(new OrderPlaced('o-1', 31.98));
 * const cooking = await t.waitFor(CookingStarted, (e) => e.orderId === 'o-1');
 * await t.stop();
 * ```
 */
export async function createTestBus(options: TestBusOptions = {}): Promise<TestBus> {
  const { container: given, timeoutMs: defaultTimeout = 5_000, transport: givenTransport, skipRetryDelays = false, clock: clockOption, ...rest } = options;
  if (clockOption === 'virtual' && givenTransport !== undefined) {
    throw new ConfigurationError(`createTestBus: clock 'virtual' needs the default memory transport (a broker's delays run on real time).`);
  }
  const virtualClock = clockOption === 'virtual' ? new VirtualClock() : undefined;
  const clock = virtualClock ?? (clockOption === 'virtual' ? undefined : clockOption);
  const broker = givenTransport === undefined ? new MemoryBroker(virtualClock === undefined ? {} : { clock: virtualClock }) : undefined;
  const transport = givenTransport ?? new MemoryTransport({ broker: broker!, isolate: true });
  const busOptions: CloudbusOptions = {
    service: 'test',
    ...rest,
    ...(clock === undefined ? {} : { clock }),
    transport: skipRetryDelays ? withoutRetryDelays(transport) : transport,
  };
  const container = given ?? new Container({ autobind: true });
  container.load(cloudbus(busOptions));
  for (const handler of busOptions.handlers ?? []) {
    try {
      container.get(handler);
    } catch (error) {
      throw new ConfigurationError(
        `createTestBus: the container cannot build handler ${handler.name}: ${(error as Error).message}\n` +
          (given === undefined
            ? `Bind its dependencies in a container and pass it: createTestBus({ container, handlers: [${handler.name}] }).`
            : `Bind its dependencies in the container passed to createTestBus.`),
        { cause: error },
      );
    }
  }
  const bus = container.get(EventBus);

  const published: PublishedEvent[] = [];
  const publishWaiters = new Set<Waiter<PublishedEvent>>();
  const telemetry: TelemetryEvent[] = [];
  const telemetryWaiters = new Set<Waiter<TelemetryEvent>>();
  bus.use({
    name: 'test-recorder',
    async publish(context, next) {
      await next();
      for (const { event, cloudEvent } of context.events) {
        const record = { event, cloudEvent: cloudEvent as CloudEvent };
        published.push(record);
        offer(record, publishWaiters);
      }
    },
  });
  const failures = new FailureLog();
  bus.telemetry.on((event) => {
    telemetry.push(event);
    if (event.kind === 'handler-failed') failures.record(event);
    offer(event, telemetryWaiters);
  });
  await bus.start();

  /** Settled when the memory broker has had nothing ready or in a handler for a few turns of the event loop. */
  const idle = async (): Promise<void> => {
    if (broker === undefined) return;
    const deadline = Date.now() + defaultTimeout;
    for (let quiet = 0; quiet < 3; ) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      quiet = broker.busy() ? 0 : quiet + 1;
      if (Date.now() > deadline) throw new WaitTimeoutError(`The bus was still busy after ${defaultTimeout} ms.`, []);
    }
  };

  const deadLetters = async (): Promise<DeadLetter[]> => {
    const current = bus.transport;
    if (!canReadDeadLetters(current)) {
      throw new Error(`The ${current.name} transport cannot list its dead letters.`);
    }
    return (await current.readDeadLetters()).map(decodeDeadLetter);
  };

  return {
    bus,
    published,
    telemetry,
    publish: (events, publishOptions) => bus.publish(events, publishOptions),
    waitFor: <T extends object>(eventClass: EventClass<T>, predicate?: (event: T, cloudEvent: CloudEvent) => boolean, timeoutMs = defaultTimeout) => {
      const asEvent = (item: PublishedEvent): T | undefined => {
        if (item.event instanceof eventClass) return item.event;
        const metadata = eventTypeOf(eventClass);
        if (item.event !== undefined || metadata === undefined || item.cloudEvent.type !== metadata.type) return undefined;
        return eventFromData(metadata, item.cloudEvent.data, dataVersionOf(item.cloudEvent['dataversion']));
      };
      let found: T | undefined;
      return waitOn(
        published,
        publishWaiters,
        (item) => {
          const event = asEvent(item);
          if (event === undefined || (predicate !== undefined && !predicate(event, item.cloudEvent))) return false;
          found = event;
          return true;
        },
        timeoutMs,
        () => `Waited for ${eventClass.name}; published so far: ${published.map((p) => p.cloudEvent.type).join(', ') || 'nothing'}.`,
        failures,
      ).then(() => found!);
    },
    deadLetters,
    async waitForDeadLetter(predicate = () => true, timeoutMs = defaultTimeout) {
      const deadline = Date.now() + timeoutMs;
      const failedMeanwhile = failures.begin();
      for (;;) {
        const found = (await deadLetters()).find(predicate);
        if (found !== undefined) {
          failures.settle();
          return found;
        }
        if (Date.now() > deadline) {
          const failed = failedMeanwhile();
          failures.settle();
          throw new WaitTimeoutError(`No matching dead letter within ${timeoutMs} ms.`, failed);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    waitForTelemetry: (predicate, timeoutMs = defaultTimeout) =>
      waitOn(telemetry, telemetryWaiters, predicate, timeoutMs, () => `Telemetry so far: ${telemetry.map((t) => t.kind).join(', ') || 'nothing'}.`, failures),
    async advanceTime(ms: number) {
      if (virtualClock === undefined) throw new ConfigurationError(`advanceTime() needs createTestBus({ clock: 'virtual' }).`);
      if (!(ms >= 0) || !Number.isFinite(ms)) throw new ConfigurationError(`advanceTime(): ms must be a finite number >= 0, got ${String(ms)}.`);
      const target = virtualClock.now() + ms;
      await idle();
      for (;;) {
        const next = virtualClock.nextDueAt();
        if (next === undefined || next > target) break;
        virtualClock.advanceTo(next);
        await idle();
      }
      virtualClock.advanceTo(target);
      await idle();
    },
    idle,
    saga: (saga, key) => bus.sagaInstance(saga, key),
    async stop() {
      if (bus.state === 'started' || bus.state === 'stopping') await bus.stop({ drainTimeoutMs: 1_000 });
    },
  };
}
