import { ConfigurationError, MessageTooLargeError, TransportClosedError } from '../../errors.js';
import { wireSize } from '../../envelope/wire-codec.js';
import type {
  DeadLetterReader,
  Delivery,
  OutgoingMessage,
  StoredDeadLetter,
  Subscription,
  SubscriptionSpec,
  Transport,
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
}

/**
 * The in-memory transport: the zero-setup default, and the first transport the contract suite
 * runs against. Same semantics as the broker transports (durable subscriptions, competing
 * consumers, delayed redelivery held by the broker, dead letters), without durability across the
 * process.
 */
export class MemoryTransport implements Transport, DeadLetterReader {
  readonly name = 'memory';
  readonly capabilities: TransportCapabilities;
  readonly broker: MemoryBroker;
  #state: 'new' | 'connected' | 'closed' = 'new';
  readonly #subscriptions = new Set<Subscription>();

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
    };
  }

  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new TransportClosedError('memory transport: closed, create a new one.'));
    this.#state = 'connected';
    return Promise.resolve();
  }

  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new TransportClosedError('memory transport: cannot publish after close().'));
    const limit = this.capabilities.maxMessageBytes;
    for (const outgoing of messages) {
      const size = wireSize(outgoing.message);
      if (size > limit) return Promise.reject(new MessageTooLargeError(outgoing.id, size, limit));
    }
    for (const outgoing of messages) this.broker.publish(outgoing.type, outgoing.message);
    return Promise.resolve();
  }

  subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    if (this.#state === 'closed') return Promise.reject(new TransportClosedError('memory transport: cannot subscribe after close().'));
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

  async close(): Promise<void> {
    if (this.#state === 'closed') throw new TransportClosedError('memory transport: already closed.');
    this.#state = 'closed';
    for (const subscription of [...this.#subscriptions]) await subscription.close();
  }

  readDeadLetters(): Promise<readonly StoredDeadLetter[]> {
    return Promise.resolve(this.broker.deadLetters());
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
  return new MemoryTransport({
    ...(broker === undefined ? {} : { broker }),
    ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
  });
});
