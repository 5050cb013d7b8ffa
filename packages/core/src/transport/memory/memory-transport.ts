import { ConfigurationError, NotConnectedError, TransportClosedError } from '../../errors.js';
import { checkMessageSize } from '../message-size.js';
import type {
  BrokerTransport,
  ConnectionState,
  Delivery,
  OutgoingMessage,
  StoredDeadLetter,
  Subscription,
  SubscriptionInfo,
  SubscriptionSpec,
  TransportCapabilities,
} from '../transport.js';
import { registerTransport } from '../registry.js';
import { MemoryBroker, MemoryConsumer } from './memory-broker.js';

/** Options of {@link MemoryTransport}. */
export interface MemoryTransportOptions {
  /**
   * The broker to use, or the name of a process-wide one. Buses on the same broker see each
   * other's events; give each test its own.
   * @default MemoryBroker.named('default')
   */
  readonly broker?: MemoryBroker | string;
  /**
   * Largest encoded message accepted, in bytes.
   * @default 1_048_576 (1 MiB, as NATS)
   */
  readonly maxMessageBytes?: number;
  /**
   * Deliver what a broker would: every handler decodes and validates its own copy of the event
   * from the encoded bytes, so it never shares an object with the publisher, and data that does
   * not survive JSON (a `Date`, a `Map`, a class instance, `undefined` values) arrives as it would
   * from RabbitMQ, NATS or MQTT. `createTestBus` sets it, so tests catch such data.
   *
   * Off (the default), the bus hands handlers the CloudEvent it built, without encoding and
   * decoding it (about a sixth of the CPU per event): the handler's event is a shallow copy of the
   * publisher's (its own top-level properties), but nested objects and arrays are the publisher's
   * own, as with an `EventEmitter`, and every handler of the event gets the same (read-only)
   * `ctx.cloudEvent`. Do not change an event's nested data after publishing it.
   * An event whose data has its own `toJSON()`, or is not JSON, still takes the round trip.
   * Size limits and dead letters work the same either way: the size is bounded without encoding
   * (an event near the limit is encoded to measure it), and a dead letter holds the encoded event.
   * @default false
   */
  readonly isolate?: boolean;
}

/**
 * The in-memory transport: the zero-setup default, and the first transport the contract suite
 * runs against. Same semantics as the broker transports (durable subscriptions, competing
 * consumers, delayed redelivery held by the broker, dead letters), without durability across the
 * process.
 *
 * By default handlers take the CloudEvent the publishing bus built, without the JSON round trip
 * (`capabilities.inProcess`); `isolate: true` makes every handler decode its own copy, as from a
 * broker. See {@link MemoryTransportOptions.isolate}.
 */
export class MemoryTransport implements BrokerTransport {
  readonly name = 'memory';
  readonly capabilities: TransportCapabilities;
  readonly broker: MemoryBroker;
  #state: 'new' | 'connected' | 'closed' = 'new';
  readonly #subscriptions = new Set<Subscription>();

  /** Connected from `connect()` to `close()`: the broker lives in this process. */
  get connectionState(): ConnectionState {
    return this.#state === 'new' ? 'connecting' : this.#state;
  }

  constructor(options: MemoryTransportOptions = {}) {
    const maxMessageBytes = options.maxMessageBytes ?? 1_048_576;
    if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 1024) {
      throw new ConfigurationError(`memory transport: maxMessageBytes must be an integer of at least 1024, got ${String(maxMessageBytes)}.`);
    }
    this.broker = options.broker instanceof MemoryBroker ? options.broker : MemoryBroker.named(options.broker);
    this.capabilities = {
      maxMessageBytes,
      binaryMode: true,
      nativeDelayedRedelivery: true,
      publishDeduplication: false,
      ordered: true,
      durable: false,
      inProcess: options.isolate !== true,
    };
  }

  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new NotConnectedError('memory transport: closed, create a new one.'));
    this.#state = 'connected';
    return Promise.resolve();
  }

  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#state !== 'connected') return Promise.reject(this.#notConnected('publish'));
    const limit = this.capabilities.maxMessageBytes;
    try {
      for (const outgoing of messages) checkMessageSize(outgoing, limit);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const now = Date.now();
    for (const outgoing of messages) this.broker.publish(outgoing.type, outgoing.message, now);
    return Promise.resolve();
  }

  subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    if (this.#state !== 'connected') return Promise.reject(this.#notConnected('subscribe'));
    const queue = this.broker.declare(spec);
    const consumer = new MemoryConsumer(spec.concurrency, onDelivery);
    queue.attach(consumer);
    const subscription: Subscription = {
      stop: () => {
        consumer.active = false;
        return Promise.resolve();
      },
      close: () => {
        queue.detach(consumer);
        this.#subscriptions.delete(subscription);
        return Promise.resolve();
      },
    };
    this.#subscriptions.add(subscription);
    return Promise.resolve(subscription);
  }

  #notConnected(call: string): NotConnectedError {
    return new NotConnectedError(
      this.#state === 'closed' ? `memory transport: cannot ${call} after close().` : `memory transport: call connect() before ${call}().`,
    );
  }

  /** The subscriptions declared on the broker. */
  listSubscriptions(): Promise<readonly SubscriptionInfo[]> {
    return Promise.resolve(this.broker.subscriptions());
  }

  /** Deletes a subscription from the broker, with its pending messages. */
  removeSubscription(name: string): Promise<boolean> {
    return Promise.resolve(this.broker.remove(name));
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') throw new TransportClosedError('memory transport: already closed.');
    this.#state = 'closed';
    for (const subscription of [...this.#subscriptions]) await subscription.close();
  }

  readDeadLetters(): Promise<readonly StoredDeadLetter[]> {
    return Promise.resolve(this.broker.deadLetters());
  }

  removeDeadLetters(select: (letter: StoredDeadLetter) => boolean): Promise<number> {
    try {
      return Promise.resolve(this.broker.removeDeadLetters(select));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }
}

/** `memory://<broker name>`, or no URL for the default broker. */
function brokerNameFromUrl(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigurationError(`memory transport: '${url}' is not a URL; use memory://<broker name>.`, { cause: error });
  }
  if (parsed.protocol !== 'memory:') {
    throw new ConfigurationError(`memory transport: URL must start with memory://, got '${parsed.protocol}//'.`);
  }
  return parsed.host || undefined;
}

registerTransport('memory', ({ url, options }) => {
  const broker = (options['broker'] as MemoryBroker | string | undefined) ?? brokerNameFromUrl(url);
  const maxMessageBytes = options['maxMessageBytes'] as number | undefined;
  const isolate = options['isolate'] as boolean | undefined;
  return new MemoryTransport({
    ...(broker === undefined ? {} : { broker }),
    ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
    ...(isolate === undefined ? {} : { isolate }),
  });
});
