import type { Container } from 'inversify';

import { cloudbus } from '../bus/cloudbus-module.js';
import { EventBus } from '../bus/event-bus.js';
import type { CloudbusOptions } from '../bus/options.js';
import { decodeDeadLetter, type DeadLetter } from '../dead-letter/dead-letter-message.js';
import type { CloudEvent } from '../envelope/cloud-event.js';
import { WaitTimeoutError } from '../errors.js';
import { dataVersionOf, eventFromData, eventTypeOf, type EventClass } from '../events/event-type.js';
import type { PublishOptions } from '../handlers/event-context.js';
import type { TelemetryEvent } from '../telemetry/telemetry.js';
import { MemoryBroker } from '../transport/memory/memory-broker.js';
import { MemoryTransport } from '../transport/memory/memory-transport.js';
import { canReadDeadLetters, type Transport } from '../transport/transport.js';

/** Options of {@link createTestBus}: the bus options, with test-friendly defaults. */
export interface TestBusOptions extends Omit<CloudbusOptions, 'transport' | 'service'> {
  /** @default 'test' */
  readonly service?: string;
  /**
   * The transport. @default an in-memory transport on a fresh broker of its own, with `isolate`
   * set: handlers decode their own copy of each event, as from a real broker, so a test sees data
   * that does not survive JSON (a `Date`, a `Map`) the way production would
   */
  readonly transport?: Transport;
  /** Resolve handlers from this container (loads `cloudbus(...)` into it). @default handlers are built with `new` */
  readonly container?: Container;
  /** @default 2_000 */
  readonly timeoutMs?: number;
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
  publish(events: object | readonly object[], options?: PublishOptions): Promise<void>;
  /** Resolves with the first event of the class (published before or after the call) that matches. */
  waitFor<T extends object>(eventClass: EventClass<T>, predicate?: (event: T, cloudEvent: CloudEvent) => boolean, timeoutMs?: number): Promise<T>;
  /** Dead letters stored by the transport so far. */
  deadLetters(): Promise<DeadLetter[]>;
  /** Resolves with the first dead letter that matches. */
  waitForDeadLetter(predicate?: (deadLetter: DeadLetter) => boolean, timeoutMs?: number): Promise<DeadLetter>;
  /** Resolves with the first telemetry record that matches. */
  waitForTelemetry(predicate: (event: TelemetryEvent) => boolean, timeoutMs?: number): Promise<TelemetryEvent>;
  /** Stops the bus (idempotent here, for `afterEach`). */
  stop(): Promise<void>;
}

interface Waiter<T> {
  readonly match: (item: T) => boolean;
  readonly resolve: (item: T) => void;
}

function waitOn<T>(seen: readonly T[], waiters: Set<Waiter<T>>, match: (item: T) => boolean, timeoutMs: number, what: () => string): Promise<T> {
  const found = seen.find(match);
  if (found !== undefined) return Promise.resolve(found);
  return new Promise<T>((resolve, reject) => {
    const waiter: Waiter<T> = {
      match,
      resolve: (item) => {
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(item);
      },
    };
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      reject(new WaitTimeoutError(`Nothing matched within ${timeoutMs} ms. ${what()}`));
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
 * @example
 * ```ts
 * const t = await createTestBus({ handlers: [Kitchen] });
 * await t.publish(new OrderPlaced('o-1', 31.98));
 * const cooking = await t.waitFor(CookingStarted, (e) => e.orderId === 'o-1');
 * await t.stop();
 * ```
 */
export async function createTestBus(options: TestBusOptions = {}): Promise<TestBus> {
  const { container, timeoutMs: defaultTimeout = 2_000, transport, ...rest } = options;
  const busOptions: CloudbusOptions = {
    service: 'test',
    ...rest,
    transport: transport ?? new MemoryTransport({ broker: new MemoryBroker(), isolate: true }),
  };
  let bus: EventBus;
  if (container === undefined) {
    bus = new EventBus(busOptions);
  } else {
    container.load(cloudbus(busOptions));
    bus = container.get(EventBus);
  }

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
  bus.telemetry.on((event) => {
    telemetry.push(event);
    offer(event, telemetryWaiters);
  });
  await bus.start();

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
      ).then(() => found!);
    },
    deadLetters,
    async waitForDeadLetter(predicate = () => true, timeoutMs = defaultTimeout) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = (await deadLetters()).find(predicate);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new WaitTimeoutError(`No matching dead letter within ${timeoutMs} ms.`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    waitForTelemetry: (predicate, timeoutMs = defaultTimeout) =>
      waitOn(telemetry, telemetryWaiters, predicate, timeoutMs, () => `Telemetry so far: ${telemetry.map((t) => t.kind).join(', ') || 'nothing'}.`),
    async stop() {
      if (bus.state === 'started' || bus.state === 'stopping') await bus.stop({ drainTimeoutMs: 1_000 });
    },
  };
}
