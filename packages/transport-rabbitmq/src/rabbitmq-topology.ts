import type { Channel } from 'amqplib';

import { PrivateHeaders } from './rabbitmq-binding.js';
import type { ResolvedRabbitMqOptions } from './rabbitmq-transport-options.js';
import { routingKeyOf } from './routing-key.js';

/**
 * The dead-letter queue's delivery limit: none in practice. RabbitMQ 4 gives quorum queues a limit
 * of 20 deliveries by default, and every read of the dead letters (a get, then a return) counts.
 */
const NO_DELIVERY_LIMIT = 2_000_000_000;

/** Names of what a transport declared on the broker. */
export interface DeclaredTopology {
  readonly exchanges: readonly string[];
  readonly queues: readonly string[];
}

/**
 * The broker topology and its names (see the README):
 * - `<exchange>` (topic, durable): events, routing key from the CloudEvent type;
 * - `<queuePrefix><subscription>` (quorum or classic, durable): one per handler subscription,
 *   bound to the routing key of each of its types, dead-lettering to `<deadLetterQueue>`;
 * - `<retryPrefix>` (headers exchange, durable) and `<retryPrefix>.<ms>` (durable, `x-message-ttl`):
 *   delayed retries, which expire back to the subscription queue through the default exchange;
 * - `<deadLetterQueue>` (fanout exchange, and durable queue of that name, of `queueType`): dead
 *   letters. A quorum one is replicated like the subscription queues (a classic one lives on one
 *   node of a cluster: while it is down, the broker confirms dead letters and drops them), with
 *   no delivery limit, so that reading dead letters (get, then return) never drops one. A
 *   dead-letter queue declared by an earlier version (classic) is kept as it is.
 * - `<exchange>/subscriptions` (durable queue, of `queueType`): the subscription registry, one
 *   message per subscription (its record, JSON), rewritten on each `subscribe`; read to reconcile
 *   bindings, to describe and to remove subscriptions (AMQP cannot list queues or bindings).
 * Every declaration is idempotent, and repeated after each reconnection.
 */
export class RabbitMqTopology {
  readonly #options: ResolvedRabbitMqOptions;
  readonly #exchanges = new Set<string>();
  readonly #queues = new Set<string>();

  constructor(options: ResolvedRabbitMqOptions) {
    this.#options = options;
  }

  get exchange(): string {
    return this.#options.exchange;
  }

  get deadLetterExchange(): string {
    return this.#options.deadLetterQueue;
  }

  get deadLetterQueue(): string {
    return this.#options.deadLetterQueue;
  }

  get retryExchange(): string {
    return this.#options.retryPrefix;
  }

  /** The subscription registry queue. */
  get registryQueue(): string {
    return `${this.#options.exchange}/subscriptions`;
  }

  /** The queue of a subscription. */
  queueOf(subscription: string): string {
    return this.#options.queuePrefix + subscription;
  }

  /** The retry queue of a delay bucket. */
  retryQueueOf(bucketMs: number): string {
    return `${this.#options.retryPrefix}.${bucketMs}`;
  }

  /** Exchanges and queues declared through this object so far. */
  declared(): DeclaredTopology {
    return { exchanges: [...this.#exchanges], queues: [...this.#queues] };
  }

  /** The events exchange, the retry exchange, and the dead-letter exchange. */
  async declareExchanges(channel: Channel): Promise<void> {
    const { exchange, deadLetterQueue, retryPrefix } = this.#options;
    await channel.assertExchange(exchange, 'topic', { durable: true });
    this.#exchanges.add(exchange);
    await channel.assertExchange(retryPrefix, 'headers', { durable: true });
    this.#exchanges.add(retryPrefix);
    await channel.assertExchange(deadLetterQueue, 'fanout', { durable: true });
    this.#exchanges.add(deadLetterQueue);
  }

  /**
   * Declares the dead-letter queue when `exists` is false (see the class comment for its type),
   * and binds it to the dead-letter exchange. An existing one is not declared again: its type and
   * arguments may be an earlier version's, which a declaration with other ones would fail on.
   */
  async declareDeadLetterQueue(channel: Channel, exists: boolean): Promise<void> {
    const { deadLetterQueue, deadLetterTtlMs } = this.#options;
    if (!exists) await this.#declareStore(channel, deadLetterQueue, deadLetterTtlMs);
    this.#queues.add(deadLetterQueue);
    await channel.bindQueue(deadLetterQueue, deadLetterQueue, '');
  }

  /** Declares the subscription registry queue when `exists` is false (an existing one is kept as it is, as the dead-letter queue). */
  async declareRegistryQueue(channel: Channel, exists: boolean): Promise<void> {
    if (!exists) await this.#declareStore(channel, this.registryQueue, 0);
    this.#queues.add(this.registryQueue);
  }

  /** A queue that is browsed (get, then return): of `queueType`, and without a delivery limit when quorum. */
  async #declareStore(channel: Channel, queue: string, ttlMs: number): Promise<void> {
    const { queueType } = this.#options;
    const quorum = queueType === 'quorum';
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': queueType,
        ...(quorum ? { 'x-delivery-limit': NO_DELIVERY_LIMIT } : {}),
        ...(ttlMs > 0 ? { 'x-message-ttl': ttlMs } : {}),
      },
    });
  }

  /** Removes the bindings of `queue` to the routing keys of `types`. */
  async unbindTypes(channel: Channel, queue: string, types: readonly string[]): Promise<void> {
    for (const type of types) await channel.unbindQueue(queue, this.#options.exchange, routingKeyOf(type));
  }

  /** A subscription queue and its bindings to the routing keys of `types`. */
  async declareSubscription(channel: Channel, queue: string, types: readonly string[]): Promise<void> {
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { 'x-queue-type': this.#options.queueType, 'x-dead-letter-exchange': this.#options.deadLetterQueue },
    });
    this.#queues.add(queue);
    for (const type of types) await channel.bindQueue(queue, this.#options.exchange, routingKeyOf(type));
  }

  /**
   * The retry queue of a bucket: messages wait there `bucketMs`, then expire (dead-letter) through
   * the default exchange with the routing key they were republished with, the subscription queue.
   * Quorum retry queues dead-letter at least once (the message stays until the subscription
   * queue has it).
   */
  async declareRetryQueue(channel: Channel, bucketMs: number): Promise<void> {
    const queue = this.retryQueueOf(bucketMs);
    const quorum = this.#options.queueType === 'quorum';
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': this.#options.queueType,
        'x-message-ttl': bucketMs,
        'x-dead-letter-exchange': '',
        ...(quorum ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
      },
    });
    this.#queues.add(queue);
    await channel.bindQueue(queue, this.#options.retryPrefix, '', { 'x-match': 'all', [PrivateHeaders.delay]: String(bucketMs) });
  }
}
