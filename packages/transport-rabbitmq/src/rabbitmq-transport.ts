import {
  CloudbusError,
  checkMessageSize,
  ConfigurationError,
  DeliveryLostError,
  NotConnectedError,
  TopologyConflictError,
  TransportClosedError,
  wireSize,
  type BrokerTransport,
  type SubscriptionInfo,
  type Delivery,
  type OutgoingMessage,
  type StoredDeadLetter,
  type Subscription,
  type SubscriptionSpec,
  type TransportCapabilities,
  type ConnectionState,
} from '@cloudbus/core/transport';
import type { ChannelModel } from 'amqplib';

import { amqpHeaderBytes, bodyBuffer, MAX_AMQP_HEADER_BYTES, MAX_ATTRIBUTE_HEADER_BYTES, publishProperties } from './rabbitmq-binding.js';
import { ClosingSteps } from './closing-steps.js';
import { RabbitMqConnection } from './rabbitmq-connection.js';
import { RabbitMqDeadLetters } from './rabbitmq-dead-letters.js';
import { RabbitMqPublisher, type PublishItem } from './rabbitmq-publisher.js';
import { QueueBrowser, queueExists, withChannel } from './rabbitmq-queue-browser.js';
import { RabbitMqSubscription, type SubscriptionEnvironment } from './rabbitmq-subscription.js';
import { SubscriptionRegistry } from './rabbitmq-subscription-registry.js';
import { RabbitMqTopology, type DeclaredTopology } from './rabbitmq-topology.js';
import { resolveRabbitMqOptions, type RabbitMqTransportOptions, type ResolvedRabbitMqOptions } from './rabbitmq-transport-options.js';
import { routingKeyOf } from './routing-key.js';

/**
 * The RabbitMQ transport (AMQP 0-9-1, amqplib). Events go to a topic exchange with the CloudEvent
 * type as routing key; each handler subscription is a durable (quorum by default) queue bound to
 * its types; retries wait in per-delay TTL queues held by the broker; dead letters go to a durable
 * dead-letter queue, which {@link readDeadLetters} browses without consuming ({@link removeDeadLetters}
 * acks only the chosen ones). Publishing uses a
 * confirm channel. The connection comes back by itself, re-declares the topology and resumes the
 * consumers. See the package README for the topology, the wire format and the guarantees. The
 * parts: `rabbitmq-connection` (connect, reconnect, state), `rabbitmq-topology`, `rabbitmq-binding`
 * (the CloudEvents AMQP binding), `rabbitmq-publisher`, `rabbitmq-subscription`, `rabbitmq-delivery`,
 * `rabbitmq-dead-letters` and `rabbitmq-subscription-registry` (read through `rabbitmq-queue-browser`).
 */
export class RabbitMqTransport implements BrokerTransport {
  readonly name = 'rabbitmq';
  readonly capabilities: TransportCapabilities;
  /** The options in force, defaults applied. */
  readonly options: ResolvedRabbitMqOptions;
  readonly #topology: RabbitMqTopology;
  readonly #publisher: RabbitMqPublisher;
  readonly #connection: RabbitMqConnection;
  readonly #closing: ClosingSteps;
  readonly #subscriptions = new Set<RabbitMqSubscription>();
  #retryQueues = new Map<number, Promise<void>>();
  #state: 'new' | 'connected' | 'closed' = 'new';
  #connecting: Promise<void> | undefined;
  readonly #deadLetters: RabbitMqDeadLetters;
  readonly #registry: SubscriptionRegistry;

  /** Where the connection is; `reconnecting` while a lost connection is being replaced. */
  get connectionState(): ConnectionState {
    if (this.#state === 'closed' || this.#connection.closed) return 'closed';
    if (this.#state === 'new') return 'connecting';
    return this.#connection.current === undefined ? 'reconnecting' : 'connected';
  }

  /** Validates the options (throws `ConfigurationError`); connects on {@link connect}. */
  constructor(options: RabbitMqTransportOptions = {}) {
    this.options = resolveRabbitMqOptions(options);
    this.capabilities = {
      maxMessageBytes: this.options.maxMessageBytes,
      maxHeaderBytes: MAX_ATTRIBUTE_HEADER_BYTES,
      binaryMode: true,
      nativeDelayedRedelivery: true,
      publishDeduplication: false,
      ordered: true,
      durable: true,
    };
    this.#closing = new ClosingSteps(this.options.closeTimeoutMs);
    this.#topology = new RabbitMqTopology(this.options);
    this.#connection = new RabbitMqConnection(this.options, this.#onConnected, this.#closing);
    this.#publisher = new RabbitMqPublisher(this.options, this.#closing, this.#connection);
    const browser = new QueueBrowser(this.#connection, (what) => {
      if (this.#state !== 'connected') throw this.#notConnected(what);
    });
    this.#deadLetters = new RabbitMqDeadLetters(this.#topology.deadLetterQueue, browser);
    this.#registry = new SubscriptionRegistry({
      options: this.options,
      topology: this.#topology,
      publisher: this.#publisher,
      connection: this.#connection,
      browser,
      notConnected: (what) => this.#notConnected(what),
    });
  }

  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new NotConnectedError('rabbitmq transport: closed, create a new one.'));
    this.#connecting ??= this.#connection.open().then(
      () => {
        if (this.#state === 'new') this.#state = 'connected';
      },
      (error: unknown) => {
        this.#connecting = undefined;
        throw error;
      },
    );
    return this.#connecting;
  }

  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.#state !== 'connected') return Promise.reject(this.#notConnected('publish'));
    const limit = this.options.maxMessageBytes;
    const exchange = this.options.exchange;
    const timestamp = Math.floor(Date.now() / 1000);
    const items: PublishItem[] = new Array<PublishItem>(messages.length);
    try {
      for (let i = 0; i < messages.length; i++) {
        const { id, type, message } = messages[i]!;
        const size = wireSize(message);
        checkMessageSize(messages[i]!, limit, size);
        const properties = publishProperties(id, message, timestamp);
        // Headers this large would make amqplib throw while encoding (see MAX_AMQP_HEADER_BYTES).
        if (size - message.body.byteLength > MAX_AMQP_HEADER_BYTES / 4) {
          checkMessageSize(messages[i]!, MAX_AMQP_HEADER_BYTES, amqpHeaderBytes(properties.headers as Record<string, unknown>));
        }
        items[i] = { id, exchange, routingKey: routingKeyOf(type), content: bodyBuffer(message.body), properties };
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#publisher.publish(items);
  }

  async subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    if (this.#state !== 'connected') throw this.#notConnected('subscribe');
    if (!Number.isSafeInteger(spec.concurrency) || spec.concurrency < 1 || spec.concurrency > 65_535) {
      throw new ConfigurationError(`rabbitmq transport: concurrency (prefetch) must be an integer from 1 to 65535, got ${String(spec.concurrency)}.`);
    }
    const queue = this.#topology.queueOf(spec.name);
    const env: SubscriptionEnvironment = {
      queue,
      publisher: this.#publisher,
      topology: this.#topology,
      ensureRetryQueue: this.#ensureRetryQueue,
      logger: this.options.logger,
      closing: this.#closing,
      retryDelayMs: this.options.reconnectMinDelayMs,
      isLive: (model) => this.#connection.isLive(model),
      setupStep: (model, step, what) => this.#connection.setupStep(model, step, what, this.#consumeHint(queue)),
      forget: (subscription) => this.#subscriptions.delete(subscription),
    };
    const subscription = new RabbitMqSubscription(spec, env, onDelivery);
    this.#subscriptions.add(subscription);
    try {
      for (;;) {
        await this.#connection.whenConnected();
        const model = this.#connection.current;
        if (this.#connection.closed) throw new TransportClosedError('rabbitmq transport: closed while subscribing.');
        if (model === undefined) continue;
        try {
          await this.#startConsumer(model, subscription);
          this.options.logger.info(`rabbitmq transport: ${spec.name} consumes queue ${queue}`, {
            subscription: spec.name,
            queue,
            exchange: this.options.exchange,
            routingKeys: spec.types.map(routingKeyOf),
            queueType: this.options.queueType,
          });
          await this.#registry.register(spec, queue);
          return subscription;
        } catch (error) {
          // A lost connection is retried (the reconnection restarts this subscription); anything else is a real failure.
          if (this.#connection.current === model) throw this.#subscribeError(queue, error);
        }
      }
    } catch (error) {
      this.#subscriptions.delete(subscription);
      await subscription.close();
      throw error;
    }
  }

  /**
   * Stops reconnecting at once, then closes the subscriptions' channels (their unsettled deliveries
   * go back to the queue), waits for the confirms of publishes in flight, and closes the
   * connection, waiting for the broker `closeTimeoutMs` in all. Past that (a connection that no
   * longer answers), the socket is destroyed: publishes still unconfirmed reject with
   * `PublishError`, and the broker requeues the unsettled deliveries when it notices the
   * connection is gone. A closed transport never reconnects nor declares anything.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') throw new TransportClosedError('rabbitmq transport: already closed.');
    this.#state = 'closed';
    const deadline = this.#closing.deadline();
    this.#connection.stopReconnecting();
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close(deadline)));
    await this.#publisher.close(deadline);
    await this.#connection.close(deadline);
  }

  /**
   * Dead letters in the dead-letter queue, oldest first, without consuming them: each is fetched
   * unacked, and all are handed back (in their order) when the browse channel closes. Each one's
   * `destination` is the routing key its original was published with.
   */
  readDeadLetters(): Promise<readonly StoredDeadLetter[]> {
    return this.#deadLetters.read();
  }

  /**
   * Removes the dead letters `select` picks: browses the queue as {@link readDeadLetters} does and
   * acks only the selected ones; closing the browse channel hands every other one back, in its
   * place. Nothing is acked before it is selected, so a failure or a crash midway leaves every
   * dead letter not yet removed in the queue. Letters another process is browsing at the same time
   * are out of its sight (it holds them unacked) until it is done.
   */
  removeDeadLetters(select: (letter: StoredDeadLetter) => boolean): Promise<number> {
    return this.#deadLetters.remove(select);
  }

  /**
   * The subscriptions in the registry, each with its queue's ready messages and consumers.
   * Bindings are the routing keys of the recorded types (AMQP cannot list bindings); a record
   * whose queue is gone is listed with no counts.
   */
  listSubscriptions(): Promise<readonly SubscriptionInfo[]> {
    return this.#registry.list();
  }

  /** Deletes the subscription's queue (with its bindings and messages) and its registry records. */
  removeSubscription(name: string): Promise<boolean> {
    return this.#registry.remove(name);
  }

  /** The exchanges and queues this transport declared so far (for tooling and test clean-up). */
  declaredTopology(): DeclaredTopology {
    return this.#topology.declared();
  }

  /** On every (re)connection: shared topology, publishing channel, then every subscription. */
  readonly #onConnected = async (model: ChannelModel): Promise<void> => {
    this.#retryQueues = new Map();
    this.#throwIfClosed();
    // Each step is bounded by setupTimeoutMs: a broker that leaves one unanswered gets the connection dropped, and a new one.
    const step = <T>(work: Promise<T>, what: string): Promise<T> => this.#connection.setupStep(model, work, what);
    await step(
      (async () => {
        await withChannel(model, (channel) => this.#topology.declareExchanges(channel));
        const exists = await queueExists(model, this.#topology.deadLetterQueue);
        await withChannel(model, (channel) => this.#topology.declareDeadLetterQueue(channel, exists));
        const registry = await queueExists(model, this.#topology.registryQueue);
        await withChannel(model, (channel) => this.#topology.declareRegistryQueue(channel, registry));
      })(),
      'the declaration of the exchanges, the dead-letter queue and the subscription registry',
    );
    this.#throwIfClosed();
    await step(this.#publisher.attach(model), 'the opening of the publishing channel');
    for (const subscription of this.#subscriptions) {
      this.#throwIfClosed();
      await this.#startConsumer(model, subscription);
    }
  };

  /** A (re)connection being set up gives up once the transport is closing: nothing is declared any more. */
  #throwIfClosed(): void {
    if (this.#connection.closed) throw new TransportClosedError('rabbitmq transport: closed while connecting.');
  }

  readonly #ensureRetryQueue = (bucketMs: number): Promise<void> => {
    let declared = this.#retryQueues.get(bucketMs);
    if (declared === undefined) {
      const model = this.#connection.current;
      if (model === undefined) return Promise.reject(new DeliveryLostError('rabbitmq transport: not connected; the broker delivers the message again.'));
      declared = this.#connection.setupStep(
        model,
        withChannel(model, (channel) => this.#topology.declareRetryQueue(channel, bucketMs)),
        `the declaration of retry queue '${this.#topology.retryQueueOf(bucketMs)}'`,
      );
      declared.catch(() => this.#retryQueues.delete(bucketMs));
      this.#retryQueues.set(bucketMs, declared);
    }
    return declared;
  };

  /** Starts the consumer of `subscription` on `model`, bounded by setupTimeoutMs (see RabbitMqConnection.setupStep). */
  #startConsumer(model: ChannelModel, subscription: RabbitMqSubscription): Promise<void> {
    const queue = this.#topology.queueOf(subscription.spec.name);
    return this.#connection.setupStep(model, subscription.start(model), `the start of the consumer of queue '${queue}'`, this.#consumeHint(queue));
  }

  /**
   * What else leaves a consume on `queue` unanswered: a quorum queue whose Raft member has no
   * leader (RabbitMQ can start a member afresh after a crash, and it never elects itself; see
   * docs/RELIABILITY.md, F10).
   */
  #consumeHint(queue: string): string | undefined {
    if (this.options.queueType !== 'quorum') return undefined;
    return (
      `A quorum queue without a leader never answers a consume either: \`rabbitmq-queues quorum_status '${queue}'\` shows its Raft state ` +
      `(docs/RELIABILITY.md, F10).`
    );
  }

  #subscribeError(queue: string, error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    if (/PRECONDITION|inequivalent/i.test(message)) {
      return new TopologyConflictError(
        `rabbitmq transport: queue '${queue}' exists with other arguments than this transport declares (${message}). ` +
          `Delete the queue (its messages go with it) or set queueType to match it.`,
        { cause: error },
      );
    }
    return error instanceof Error ? error : new CloudbusError(`rabbitmq transport: cannot subscribe queue '${queue}': ${message}.`);
  }

  #notConnected(what: string): Error {
    return this.#state === 'closed'
      ? new NotConnectedError(`rabbitmq transport: cannot ${what} after close().`)
      : new NotConnectedError(`rabbitmq transport: cannot ${what} before connect() has resolved.`);
  }
}
