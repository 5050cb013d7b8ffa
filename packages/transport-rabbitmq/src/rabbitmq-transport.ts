import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';

import {
  byName,
  CloudbusError,
  checkMessageSize,
  ConfigurationError,
  DeliveryLostError,
  NotConnectedError,
  TopologyConflictError,
  decodeSubscriptionRecord,
  encodeSubscriptionRecord,
  removedTypes,
  subscriptionInfo,
  subscriptionRecord,
  TransportClosedError,
  wireSize,
  type SubscriptionAdmin,
  type SubscriptionInfo,
  type SubscriptionRecord,
  type DeadLetterReader,
  type DeadLetterRemover,
  type Delivery,
  type OutgoingMessage,
  type StoredDeadLetter,
  type Subscription,
  type SubscriptionSpec,
  type Transport,
  type TransportCapabilities,
  type ConnectionState,
  type ConnectionStateReporter,
} from '@cloudbus/core/transport';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';

import { amqpHeaderBytes, bodyBuffer, MAX_AMQP_HEADER_BYTES, MAX_ATTRIBUTE_HEADER_BYTES, PrivateHeaders, publishProperties, toWireMessage } from './rabbitmq-binding.js';
import { closeChannel, ClosingSteps } from './closing-steps.js';
import { RabbitMqConnection } from './rabbitmq-connection.js';
import { RabbitMqPublisher, type PublishItem } from './rabbitmq-publisher.js';
import { RabbitMqSubscription, type SubscriptionEnvironment } from './rabbitmq-subscription.js';
import { RabbitMqTopology, type DeclaredTopology } from './rabbitmq-topology.js';
import { resolveRabbitMqOptions, type RabbitMqTransportOptions, type ResolvedRabbitMqOptions } from './rabbitmq-transport-options.js';
import { routingKeyOf } from './routing-key.js';

/** How long a dead-letter browse waits for the broker to make the messages it handed back ready again. */
const RETURN_WAIT_MS = 10_000;

/**
 * The RabbitMQ transport (AMQP 0-9-1, amqplib). Events go to a topic exchange with the CloudEvent
 * type as routing key; each handler subscription is a durable (quorum by default) queue bound to
 * its types; retries wait in per-delay TTL queues held by the broker; dead letters go to a durable
 * dead-letter queue, which {@link readDeadLetters} browses without consuming ({@link removeDeadLetters}
 * acks only the chosen ones). Publishing uses a
 * confirm channel. The connection comes back by itself, re-declares the topology and resumes the
 * consumers. See the package README for the topology, the wire format and the guarantees.
 */
export class RabbitMqTransport implements ConnectionStateReporter, Transport, DeadLetterReader, DeadLetterRemover, SubscriptionAdmin {
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
  /** The dead-letter browse under way: browses run one at a time. */
  #browsing: Promise<void> = Promise.resolve();

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
          await this.#register(spec, queue);
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
  async readDeadLetters(): Promise<readonly StoredDeadLetter[]> {
    const letters: StoredDeadLetter[] = [];
    await this.#browseDeadLetters('read dead letters', (letter) => {
      letters.push(letter);
      return false;
    });
    return letters;
  }

  /**
   * Removes the dead letters `select` picks: browses the queue as {@link readDeadLetters} does and
   * acks only the selected ones; closing the browse channel hands every other one back, in its
   * place. Nothing is acked before it is selected, so a failure or a crash midway leaves every
   * dead letter not yet removed in the queue. Letters another process is browsing at the same time
   * are out of its sight (it holds them unacked) until it is done.
   */
  async removeDeadLetters(select: (letter: StoredDeadLetter) => boolean): Promise<number> {
    let removed = 0;
    await this.#browseDeadLetters('remove dead letters', (letter) => {
      if (!select(letter)) return false;
      removed++;
      return true;
    });
    return removed;
  }

  /** Browses the dead-letter queue (see {@link #browse}), each message read as a dead letter. */
  #browseDeadLetters(what: string, visit: (letter: StoredDeadLetter) => boolean): Promise<void> {
    return this.#browse(this.#topology.deadLetterQueue, what, (raw) => {
      const headers = raw.properties.headers as Record<string, unknown> | undefined;
      const destination = headers?.[PrivateHeaders.destination];
      return visit({ message: toWireMessage(raw.properties, raw.content), destination: typeof destination === 'string' ? destination : raw.fields.routingKey });
    });
  }

  /**
   * Fetches every message of `queue` unacked, one at a time, and acks those `visit` returns true
   * for; closing the channel then returns the rest, in their places. Browses of this transport
   * run one after the other. `visit` must not throw.
   */
  #browse(queue: string, what: string, visit: (raw: GetMessage) => boolean): Promise<void> {
    const run = this.#browsing.then(async () => {
      if (this.#state !== 'connected') throw this.#notConnected(what);
      await this.#connection.whenConnected();
      const model = this.#connection.current;
      if (model === undefined) throw new NotConnectedError('rabbitmq transport: closed.');
      const channel = await model.createChannel();
      channel.on('error', () => {});
      let fetched = 0;
      let removed = 0;
      try {
        const { messageCount } = await channel.checkQueue(queue);
        let acked = false;
        for (let i = 0; i < messageCount; i++) {
          const raw: GetMessage | false = await channel.get(queue, { noAck: false });
          if (raw === false) break;
          fetched++;
          if (visit(raw)) {
            channel.ack(raw);
            acked = true;
            removed++;
          }
        }
        // The broker answers in order: once this answer is in, it has every ack before it.
        if (acked) await channel.checkQueue(queue);
      } finally {
        // Closing the channel returns every fetched message not acked to its place in the queue.
        await closeChannel(channel);
      }
      await this.#untilReturned(model, queue, fetched - removed);
    });
    this.#browsing = run.catch(() => {});
    return run;
  }

  /**
   * Waits (up to {@link RETURN_WAIT_MS}) until `queue` has `count` messages ready again: a quorum
   * queue puts returned messages back asynchronously, and a browse started before they are back
   * would miss them.
   */
  async #untilReturned(model: ChannelModel, queue: string, count: number): Promise<void> {
    if (count === 0) return;
    const deadline = Date.now() + RETURN_WAIT_MS;
    for (;;) {
      const ready = await this.#withChannel(model, (channel) => channel.checkQueue(queue)).then(
        ({ messageCount }) => messageCount,
        () => count,
      );
      if (ready >= count || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * Records `spec` in the subscription registry, then reconciles: the bindings of types the
   * previous record had and `spec` has not are removed, and logged. The new record is confirmed
   * before older ones are removed, so a crash midway leaves two, of which the newest counts. A
   * failure here is logged, never fatal: the subscription runs, and the next start tries again.
   */
  async #register(spec: SubscriptionSpec, queue: string): Promise<void> {
    try {
      const record = subscriptionRecord(spec);
      const id = `${spec.name}@${record.updatedAt}#${randomUUID()}`;
      await this.#publisher.publish([
        {
          id,
          exchange: '',
          routingKey: this.#topology.registryQueue,
          content: Buffer.from(encodeSubscriptionRecord(record)),
          properties: { messageId: id, persistent: true, contentType: 'application/json' },
        },
      ]);
      let previous: SubscriptionRecord | undefined;
      await this.#browse(this.#topology.registryQueue, 'update the subscription registry', (raw) => {
        if (raw.properties.messageId === id) return false;
        const older = decodeSubscriptionRecord(raw.content);
        if (older?.name !== spec.name) return false;
        if (previous === undefined || older.updatedAt > previous.updatedAt) previous = older;
        return true;
      });
      const removed = removedTypes(previous, spec);
      if (removed.length === 0) return;
      const model = this.#connection.current;
      if (model === undefined) throw new TransportClosedError('rabbitmq transport: connection lost while reconciling bindings.');
      await this.#withChannel(model, (channel) => this.#topology.unbindTypes(channel, queue, removed));
      this.options.logger.info(`rabbitmq transport: ${spec.name} no longer receives ${removed.join(', ')}: unbound queue ${queue} from ${this.options.exchange}`, {
        subscription: spec.name,
        queue,
        exchange: this.options.exchange,
        removed: removed.map(routingKeyOf),
      });
    } catch (error) {
      this.options.logger.warn(`rabbitmq transport: could not update the subscription registry for ${spec.name}; bindings of types it no longer handles stay until a later start`, {
        subscription: spec.name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** The newest record of each subscription in the registry, read without consuming it. */
  async #registryRecords(): Promise<Map<string, SubscriptionRecord>> {
    const records = new Map<string, SubscriptionRecord>();
    await this.#browse(this.#topology.registryQueue, 'read the subscription registry', (raw) => {
      const record = decodeSubscriptionRecord(raw.content);
      const known = record === undefined ? undefined : records.get(record.name);
      if (record !== undefined && (known === undefined || record.updatedAt >= known.updatedAt)) records.set(record.name, record);
      return false;
    });
    return records;
  }

  /**
   * The subscriptions in the registry, each with its queue's ready messages and consumers.
   * Bindings are the routing keys of the recorded types (AMQP cannot list bindings); a record
   * whose queue is gone is listed with no counts.
   */
  async listSubscriptions(): Promise<readonly SubscriptionInfo[]> {
    const records = await this.#registryRecords();
    const model = this.#connection.current;
    if (model === undefined) throw this.#notConnected('list subscriptions');
    const found: SubscriptionInfo[] = [];
    for (const record of records.values()) {
      const queue = this.#topology.queueOf(record.name);
      const counts = await this.#withChannel(model, (channel) => channel.checkQueue(queue)).catch(() => undefined);
      found.push(
        subscriptionInfo(
          { name: record.name, bindings: record.types.map(routingKeyOf), destination: queue, pending: counts?.messageCount, consumers: counts?.consumerCount },
          record,
        ),
      );
    }
    return byName(found);
  }

  /** Deletes the subscription's queue (with its bindings and messages) and its registry records. */
  async removeSubscription(name: string): Promise<boolean> {
    let recorded = false;
    await this.#browse(this.#topology.registryQueue, 'remove a subscription', (raw) => {
      const match = decodeSubscriptionRecord(raw.content)?.name === name;
      recorded ||= match;
      return match;
    });
    const model = this.#connection.current;
    if (model === undefined) throw this.#notConnected('remove a subscription');
    const queue = this.#topology.queueOf(name);
    const exists = await this.#queueExists(model, queue);
    if (exists) await this.#withChannel(model, (channel) => channel.deleteQueue(queue));
    if (exists || recorded) {
      this.options.logger.info(`rabbitmq transport: removed subscription ${name} (queue ${queue})`, { subscription: name, queue });
    }
    return exists || recorded;
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
        await this.#withChannel(model, (channel) => this.#topology.declareExchanges(channel));
        const exists = await this.#queueExists(model, this.#topology.deadLetterQueue);
        await this.#withChannel(model, (channel) => this.#topology.declareDeadLetterQueue(channel, exists));
        const registry = await this.#queueExists(model, this.#topology.registryQueue);
        await this.#withChannel(model, (channel) => this.#topology.declareRegistryQueue(channel, registry));
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

  /** Whether `queue` exists (a passive declaration; its own channel, which a missing queue closes). */
  async #queueExists(model: ChannelModel, queue: string): Promise<boolean> {
    try {
      await this.#withChannel(model, (channel) => channel.checkQueue(queue));
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 404 && /no queue/.test(String((error as Error).message))) return false;
      throw error;
    }
  }

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
        this.#withChannel(model, (channel) => this.#topology.declareRetryQueue(channel, bucketMs)),
        `the declaration of retry queue '${this.#topology.retryQueueOf(bucketMs)}'`,
      );
      declared.catch(() => this.#retryQueues.delete(bucketMs));
      this.#retryQueues.set(bucketMs, declared);
    }
    return declared;
  };

  async #withChannel<T>(model: ChannelModel, use: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await model.createChannel();
    let lastError: unknown;
    channel.on('error', (error: unknown) => {
      lastError = error;
    });
    try {
      return await use(channel);
    } catch (error) {
      throw lastError ?? error;
    } finally {
      await closeChannel(channel);
    }
  }

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
