import { BookkeepingReader, SETTLED, type Delivery, type Logger, type WireMessage } from '@cloudbus/core/transport';
import type { ConsumeMessage, Options } from 'amqplib';

import { amqpHeaderBytes, attributeHeaders, bodyBuffer, DELIVERY_COUNT_HEADER, MAX_AMQP_HEADER_BYTES, PrivateHeaders, toWireMessage } from './rabbitmq-binding.js';
import { channelGoneError, type ConsumerChannel } from './consumer-channel.js';
import type { RabbitMqPublisher } from './rabbitmq-publisher.js';
import type { RabbitMqTopology } from './rabbitmq-topology.js';
import { retryBucketOf } from './retry-bucket.js';

/** What a delivery needs to settle itself. */
export interface DeliveryEnvironment {
  /** The subscription queue the message came from. */
  readonly queue: string;
  readonly publisher: RabbitMqPublisher;
  readonly topology: RabbitMqTopology;
  readonly logger: Logger;
  /** Declares the retry queue of a bucket (once per connection). */
  ensureRetryQueue(bucketMs: number): Promise<void>;
}

function channelGone(): Promise<never> {
  return Promise.reject(channelGoneError());
}

/** First and longest wait before a message whose dead letter could not be stored goes back to the queue, in ms. */
const DEAD_LETTER_BACKOFF_MS = 1_000;
const MAX_DEAD_LETTER_BACKOFF_MS = 30_000;

/**
 * One message from a subscription queue. Attempts: the `x-cloudbus-attempt` header of a retry
 * republish (1 without it) plus the broker's redeliveries (`x-delivery-count` of quorum queues, or
 * 1 for the `redelivered` flag of classic ones). The `x-cloudbus-*` headers are read through
 * core's `BookkeepingReader`: a malformed or out-of-range one is ignored and noted in {@link ignored}.
 */
export class RabbitMqDelivery implements Delivery {
  readonly message: WireMessage;
  readonly attempt: number;
  readonly firstAttemptAt: number;
  readonly destination: string;
  readonly ignored: readonly string[] | undefined;
  /** Times the broker delivered this message before (from `x-delivery-count` or the `redelivered` flag). */
  readonly #redeliveries: number;
  readonly #raw: ConsumeMessage;
  readonly #consumer: ConsumerChannel;
  readonly #env: DeliveryEnvironment;
  #settled = false;

  constructor(raw: ConsumeMessage, consumer: ConsumerChannel, env: DeliveryEnvironment) {
    this.#raw = raw;
    this.#consumer = consumer;
    this.#env = env;
    const properties = raw.properties;
    const headers = properties.headers as Record<string, unknown> | undefined;
    let attempt = 1;
    let firstAttemptAt: number | undefined;
    let destination = raw.fields.routingKey;
    let redeliveries = raw.fields.redelivered ? 1 : 0;
    let ignored: readonly string[] | undefined;
    // Only retries, redeliveries and broker returns carry these: first deliveries skip the reader.
    let read: BookkeepingReader | undefined;
    if (
      headers !== undefined &&
      (headers[PrivateHeaders.attempt] !== undefined ||
        headers[PrivateHeaders.firstAttempt] !== undefined ||
        headers[PrivateHeaders.destination] !== undefined ||
        headers[DELIVERY_COUNT_HEADER] !== undefined)
    ) {
      read = new BookkeepingReader();
      attempt = read.attempt(PrivateHeaders.attempt, headers[PrivateHeaders.attempt]) ?? 1;
      firstAttemptAt = read.time(PrivateHeaders.firstAttempt, headers[PrivateHeaders.firstAttempt]);
      destination = read.name(PrivateHeaders.destination, headers[PrivateHeaders.destination]) ?? destination;
      // Quorum queues count returns; the flag still says "at least once before" where a broker version does not count this kind of return.
      const count = headers[DELIVERY_COUNT_HEADER] === 0 ? 0 : read.attempt(DELIVERY_COUNT_HEADER, headers[DELIVERY_COUNT_HEADER]);
      if (count !== undefined && count > redeliveries) redeliveries = count;
    }
    const timestamp = properties.timestamp as unknown;
    if (firstAttemptAt === undefined && redeliveries > 0 && typeof timestamp === 'number') {
      firstAttemptAt = (read ??= new BookkeepingReader()).time('timestamp', timestamp * 1000);
    }
    if (read !== undefined && read.notes.length > 0) ignored = read.notes;
    this.#redeliveries = redeliveries;
    this.attempt = attempt + redeliveries;
    this.firstAttemptAt = firstAttemptAt ?? Date.now();
    this.destination = destination;
    this.ignored = ignored;
    this.message = toWireMessage(properties, raw.content);
  }

  ack(): Promise<void> {
    if (this.#settled) return SETTLED;
    this.#settled = true;
    if (!this.#consumer.open) return channelGone();
    // Sent with the other acks of this event-loop turn (see ConsumerChannel).
    this.#consumer.ack(this.#raw);
    return SETTLED;
  }

  /**
   * Republishes the message (confirmed) to the retry queue of the delay's bucket, with the next
   * attempt number, then acks the original. A delay of 0 republishes straight to the subscription queue.
   */
  async nack(delayMs: number): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    if (!this.#consumer.open) return channelGone();
    const env = this.#env;
    const headers = this.#retryHeaders();
    let exchange = '';
    if (delayMs > 0) {
      const bucket = retryBucketOf(delayMs);
      headers[PrivateHeaders.delay] = String(bucket);
      exchange = env.topology.retryExchange;
      await this.#settleWith(env.ensureRetryQueue(bucket));
    }
    await this.#settleWith(
      env.publisher.publish([{ id: this.#id(), exchange, routingKey: env.queue, content: this.#raw.content, properties: this.#properties(headers) }]),
    );
    this.#consumer.ack(this.#raw);
  }

  /** Publishes `message` (confirmed) to the dead-letter exchange, keeping the original's `x-death`, then acks the original. */
  async deadLetter(message: WireMessage): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    if (!this.#consumer.open) return channelGone();
    const env = this.#env;
    const headers = attributeHeaders(message);
    const original = this.#raw.properties.headers as Record<string, unknown> | undefined;
    const death = original?.['x-death'];
    if (death !== undefined) headers['x-death'] = death;
    headers[PrivateHeaders.destination] = this.destination;
    headers[PrivateHeaders.subscription] = env.queue;
    const properties: Options.Publish = { persistent: true, headers, timestamp: Math.floor(Date.now() / 1000) };
    if (message.contentType !== undefined) properties.contentType = message.contentType;
    const messageId = this.#raw.properties.messageId as unknown;
    if (typeof messageId === 'string') properties.messageId = messageId;
    const bytes = amqpHeaderBytes(headers);
    if (bytes > MAX_AMQP_HEADER_BYTES) {
      // Core trims dead letters to the transport's header limit; this is the last guard (an
      // x-death history grown huge, say). Rejected without requeue: the queue's own dead-letter
      // exchange takes the original as it is, and it does not come back.
      env.logger.error('rabbitmq transport: a dead letter is over the AMQP header limit even trimmed; rejected without requeue to the dead-letter queue as it is', {
        queue: env.queue,
        headerBytes: bytes,
        limit: MAX_AMQP_HEADER_BYTES,
      });
      this.#consumer.nack(this.#raw, false);
      return;
    }
    await this.#settleWith(
      env.publisher.publish([
        { id: this.#id(), exchange: env.topology.deadLetterExchange, routingKey: this.destination, content: bodyBuffer(message.body), properties },
      ]),
      this.#deadLetterBackoff(),
    );
    this.#consumer.ack(this.#raw);
  }

  /** How long to keep a message whose dead letter failed before it goes back to the queue: doubling with each redelivery. */
  #deadLetterBackoff(): number {
    return Math.min(MAX_DEAD_LETTER_BACKOFF_MS, DEAD_LETTER_BACKOFF_MS * 2 ** Math.min(this.#redeliveries, 5));
  }

  /**
   * Awaits a step of nack / deadLetter; when it fails, hands the original back to the queue, after
   * `backoffMs` (a failed dead letter: not to redeliver it in a hot loop) or at once.
   */
  async #settleWith(step: Promise<void>, backoffMs = 0): Promise<void> {
    try {
      await step;
    } catch (error) {
      const requeue = (): void => {
        if (!this.#consumer.open) return; // The channel closed meanwhile: the broker requeues the message itself.
        try {
          this.#consumer.nack(this.#raw, true);
        } catch {
          // Closed while nacking: the same.
        }
      };
      if (backoffMs > 0) setTimeout(requeue, backoffMs).unref();
      else requeue();
      throw error;
    }
  }

  #id(): string {
    const id = this.message.headers['id'] ?? (this.#raw.properties.messageId as unknown);
    return typeof id === 'string' ? id : `delivery-${this.#raw.fields.deliveryTag}`;
  }

  /** The original's headers, minus the broker's and ours, plus the next attempt, first attempt and destination. */
  #retryHeaders(): Record<string, unknown> {
    const headers: Record<string, unknown> = {};
    const original = this.#raw.properties.headers as Record<string, unknown> | undefined;
    if (original !== undefined) {
      for (const name in original) {
        if (name.startsWith('x-') || name === PrivateHeaders.delay) continue;
        headers[name] = original[name];
      }
    }
    headers[PrivateHeaders.attempt] = this.attempt + 1;
    headers[PrivateHeaders.firstAttempt] = this.firstAttemptAt;
    headers[PrivateHeaders.destination] = this.destination;
    return headers;
  }

  #properties(headers: Record<string, unknown>): Options.Publish {
    const original = this.#raw.properties;
    const properties: Options.Publish = { persistent: true, headers };
    if (original.contentType !== undefined) properties.contentType = original.contentType as string;
    if (original.messageId !== undefined) properties.messageId = original.messageId as string;
    if (original.timestamp !== undefined) properties.timestamp = original.timestamp as number;
    return properties;
  }
}
