import type { ContentMode, WireMessage } from '../envelope/wire-codec.js';

/**
 * The transport contract: connect, publish a batch, subscribe with a callback per delivery that
 * is acked, nacked with a delay, or dead-lettered, close. Everything else (CloudEvents decoding,
 * retries, handler dispatch, telemetry) lives in core and is written once.
 *
 * A transport carries {@link WireMessage}s; it maps them to its protocol per the CloudEvents
 * protocol binding (AMQP application properties, NATS headers, MQTT user properties) and back.
 * A transport is done when it passes `transportContract` from `@cloudbus/core/testing/contract`.
 */
export interface Transport {
  /** Registry name: `memory`, `rabbitmq`, `nats`, `mqtt`. */
  readonly name: string;
  /**
   * What the broker can do; core and the contract suite adapt to it. Read after `connect()`, so a
   * transport may refine it with what the broker reports (a payload limit, for example).
   */
  readonly capabilities: TransportCapabilities;

  /** Connects to the broker. Rejects with a clear error (never with credentials in it) when it cannot. */
  connect(): Promise<void>;

  /**
   * Publishes a batch. Resolves only once the broker has durably accepted every message of the
   * batch; rejects with a `PublishError` listing the ids not accepted otherwise. Rejects with
   * `TransportClosedError` after {@link close}. The transport may pipeline the batch, but never
   * resolves early.
   */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;

  /**
   * Starts consuming the durable subscription `spec.name`, declaring it (and its bindings to
   * `spec.types`) when it does not exist. Every process subscribing with the same name competes
   * for its messages; each message is delivered to one of them at a time.
   *
   * `onDelivery` is called once per delivery, with at most `spec.concurrency` deliveries
   * unsettled at a time for this subscriber. Exactly one of `ack`, `nack` or `deadLetter` settles
   * a delivery; until then the broker keeps the message. The callback must not throw.
   */
  subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription>;

  /**
   * Closes subscriptions and connections. Unsettled deliveries go back to the broker for
   * redelivery. A second `close()` rejects with `TransportClosedError`.
   */
  close(): Promise<void>;
}

/** One message to publish. */
export interface OutgoingMessage {
  /** The CloudEvent `id`, for de-duplication where the broker offers it and for error reports. */
  readonly id: string;
  /** The CloudEvent `type`: the routing key / subject / topic derives from it. */
  readonly type: string;
  readonly message: WireMessage;
}

/** What a subscription receives. */
export interface SubscriptionSpec {
  /**
   * Durable name, `<service>.<handler>`: stable across restarts, shared by every instance of the
   * service, so that they compete for the subscription's messages.
   */
  readonly name: string;
  /** CloudEvent types to receive. */
  readonly types: readonly string[];
  /** Most deliveries unsettled at once for this subscriber (prefetch, max ack pending, receive maximum). */
  readonly concurrency: number;
  /**
   * What a transport that keeps a registry of subscriptions ({@link SubscriptionAdmin}) records
   * beside the types, for `describe`: the service, the handler and its retry policy. Optional.
   */
  readonly description?: SubscriptionDescription;
}

/** Who a subscription is for, as recorded in a transport's subscription registry. */
export interface SubscriptionDescription {
  readonly service: string;
  /** The handler, `<class>.<method>`. */
  readonly handler: string;
  /** The retry policy's description, e.g. `exponential(5, 100ms..5000ms)`. */
  readonly retry: string;
}

/**
 * What `ack`, `nack` and `deadLetter` return when the settlement is complete on return and
 * cannot fail (an in-process broker): core then waits for nothing and attaches no error handler,
 * one promise and one microtask less per message. Any other promise is awaited as usual.
 */
export const SETTLED: Promise<void> = Promise.resolve();

/** A message handed to a subscriber, to be settled exactly once. */
export interface Delivery {
  readonly message: WireMessage;
  /** 1 on first delivery to the subscription, one more on each redelivery (nack or crash). */
  readonly attempt: number;
  /** When the message was first delivered to this subscription (ms since the epoch); transports that cannot know give the publish time. */
  readonly firstAttemptAt: number;
  /** Where the message was published (routing key, subject or topic), recorded on dead letters. */
  readonly destination: string;
  /**
   * Bookkeeping values the transport read off the wire and ignored as malformed or out of range
   * (see `BookkeepingReader`), one note each; recorded on dead letters as `deadletterignored`.
   * Absent or empty when there were none.
   */
  readonly ignored?: readonly string[] | undefined;
  /** The message is done; the broker forgets it. */
  ack(): Promise<void>;
  /** Redeliver no sooner than `delayMs` from now, with `attempt + 1`. The delay is kept by the broker, not by this process. */
  nack(delayMs: number): Promise<void>;
  /** Store `message` (the original plus the failure record) durably in the dead-letter destination, then drop the original. */
  deadLetter(message: WireMessage): Promise<void>;
}

/** A running subscription. */
export interface Subscription {
  /** Stops receiving new deliveries; those already handed out may still be settled. */
  stop(): Promise<void>;
  /** Ends the subscription: deliveries not settled yet go back to the broker for redelivery. */
  close(): Promise<void>;
}

/** What a broker offers. The contract suite skips or adapts the cases a transport cannot honour. */
export interface TransportCapabilities {
  /** Largest encoded message (body and headers) the broker accepts, in bytes. */
  readonly maxMessageBytes: number;
  /**
   * Largest total of header bytes the broker (or its client) accepts in one message, counting each
   * header's name and value in UTF-8 plus `HEADER_OVERHEAD_BYTES` (32) for its framing, where that
   * is lower than {@link maxMessageBytes} (RabbitMQ: amqplib encodes headers in a 64 KiB buffer).
   * Dead letters whose headers would go over it are trimmed. Unset: only `maxMessageBytes` applies.
   */
  readonly maxHeaderBytes?: number;
  /** Binary content mode is possible (MQTT 3.1.1 has no headers: structured only). */
  readonly binaryMode: boolean;
  /**
   * The content mode a bus uses when its options set none. A transport names one where the other
   * costs markedly more on its protocol; unset means binary where possible.
   */
  readonly preferredContentMode?: ContentMode;
  /**
   * The transport hands the very {@link WireMessage} objects it was given to subscribers in this
   * process (the memory transport, unless `isolate` is set). The bus then publishes messages
   * that carry the CloudEvent it built and encode themselves only when their `headers` or `body`
   * are read, and its handlers take that CloudEvent instead of decoding the bytes: they share
   * nested objects with the publisher, as with any in-process event emitter. A transport that
   * sets it must not change what it is given; one that reads `body` or `headers` (to copy them
   * elsewhere) gets the encoded message as usual.
   * @default false
   */
  readonly inProcess?: boolean;
  /**
   * `nack(delay)` is kept by the broker (a delay queue, a server-side delay, a redelivery topic),
   * not by a timer in the process: another subscriber gets the message no sooner, even after the
   * process that asked for the delay is gone. The contract suite checks it where it is set.
   */
  readonly nativeDelayedRedelivery: boolean;
  /** The broker drops a re-published message with an id it has seen recently. */
  readonly publishDeduplication: boolean;
  /** A subscription with concurrency 1 receives one publisher's messages in publish order. */
  readonly ordered: boolean;
  /** Messages outlive a restart of the broker; the contract's restart scenario runs where it is set. */
  readonly durable: boolean;
}

/**
 * Optional: a transport that can list its dead-letter destination. Check with
 * {@link canReadDeadLetters}.
 */
export interface DeadLetterReader {
  /** Dead letters stored so far, oldest first. */
  readDeadLetters(): Promise<readonly StoredDeadLetter[]>;
}

/** A dead letter as stored by the broker. */
export interface StoredDeadLetter {
  readonly message: WireMessage;
  /** Where the original was published. */
  readonly destination: string;
}

/** Type guard for {@link DeadLetterReader}. */
export function canReadDeadLetters(transport: Transport): transport is Transport & DeadLetterReader {
  return typeof (transport as Partial<DeadLetterReader>).readDeadLetters === 'function';
}

/**
 * Optional: a transport that can remove single dead letters from its dead-letter destination.
 * Check with {@link canRemoveDeadLetters}.
 */
export interface DeadLetterRemover {
  /**
   * Removes the stored dead letters `select` returns true for, and only those; resolves with how
   * many were removed. Never loses another dead letter: one that is not selected stays stored,
   * also when the call fails or the process dies midway (letters not yet removed stay stored).
   * `select` must not throw.
   */
  removeDeadLetters(select: (letter: StoredDeadLetter) => boolean): Promise<number>;
}

/** Type guard for {@link DeadLetterRemover}. */
export function canRemoveDeadLetters(transport: Transport): transport is Transport & DeadLetterRemover {
  return typeof (transport as Partial<DeadLetterRemover>).removeDeadLetters === 'function';
}

/**
 * Where a transport's connection to its broker is: `connecting` before the first connection,
 * `connected`, `reconnecting` after losing it (publishes wait, deliveries pause), `closed` after
 * `close()`.
 */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** Optional: a transport that reports its connection state. Check with {@link reportsConnectionState}. */
export interface ConnectionStateReporter {
  readonly connectionState: ConnectionState;
}

/** Type guard for {@link ConnectionStateReporter}. */
export function reportsConnectionState(transport: Transport): transport is Transport & ConnectionStateReporter {
  return typeof (transport as Partial<ConnectionStateReporter>).connectionState === 'string';
}

/**
 * A subscription as the broker has it, from {@link SubscriptionAdmin.listSubscriptions}: what the
 * broker binds to it, and what cloudbus recorded when a service last subscribed it.
 */
export interface SubscriptionInfo {
  /** The subscription, `<service>.<handler>`. */
  readonly name: string;
  /** The service that last subscribed it (from the registry; undefined when not recorded). */
  readonly service: string | undefined;
  /** The handler, `<class>.<method>` (from the registry). */
  readonly handler: string | undefined;
  /** The CloudEvent types it receives, as recorded when it was last subscribed. */
  readonly types: readonly string[];
  /** What the broker routes to it: routing keys (RabbitMQ), filter subjects (NATS), topic filters (MQTT). */
  readonly bindings: readonly string[];
  /** Where its messages wait: the queue (RabbitMQ), the durable consumer (NATS), the shared group (MQTT). */
  readonly destination: string;
  /** Deliveries unsettled at once per consumer, as configured when last subscribed. */
  readonly concurrency: number | undefined;
  /** The retry policy's description, as recorded when last subscribed. */
  readonly retry: string | undefined;
  /** Messages waiting to be delivered, where the broker says (undefined otherwise). */
  readonly pending: number | undefined;
  /** Consumers connected now, where the broker says. */
  readonly consumers: number | undefined;
  /** When a service last subscribed it (ISO 8601), from the registry. */
  readonly updatedAt: string | undefined;
}

/**
 * Optional: a transport that knows the subscriptions on its broker. Such a transport also
 * reconciles, in `subscribe`, what the broker routes to a subscription with `spec.types`: bindings
 * or filters of types the subscription no longer has are removed, and each removal is logged.
 * Check with {@link canAdministerSubscriptions}.
 */
export interface SubscriptionAdmin {
  /** The cloudbus subscriptions on the broker (under this transport's names: exchange, stream, topic prefix), sorted by name. */
  listSubscriptions(): Promise<readonly SubscriptionInfo[]>;
  /**
   * Deletes a subscription from the broker: its queue, durable consumer or sessions, its bindings
   * and its registry record. Messages waiting in it are dropped (dead letters are kept). Resolves
   * false when there was no such subscription. Consumers still running on it lose it.
   */
  removeSubscription(name: string): Promise<boolean>;
}

/** Type guard for {@link SubscriptionAdmin}. */
export function canAdministerSubscriptions(transport: Transport): transport is Transport & SubscriptionAdmin {
  const admin = transport as Partial<SubscriptionAdmin>;
  return typeof admin.listSubscriptions === 'function' && typeof admin.removeSubscription === 'function';
}

/**
 * A transport with every optional capability: it lists and removes its dead letters, reports its
 * connection state and administers its subscriptions. The transports cloudbus ships (memory,
 * RabbitMQ, NATS, MQTT) are all of this kind; a new broker transport implements it too where its
 * broker allows, so that `cloudbus dead-letters`, `describe` and `prune` work on it.
 */
export interface BrokerTransport extends Transport, DeadLetterReader, DeadLetterRemover, ConnectionStateReporter, SubscriptionAdmin {}
