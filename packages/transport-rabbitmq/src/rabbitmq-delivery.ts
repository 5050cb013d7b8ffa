import type { Delivery, WireMessage } from '@cloudbus/core';
import type { ConsumeMessage, Options } from 'amqplib';

import { attributeHeaders, bodyBuffer, DELIVERY_COUNT_HEADER, PrivateHeaders, toWireMessage } from './amqp-binding.js';
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
  /** Declares the retry queue of a bucket (once per connection). */
  ensureRetryQueue(bucketMs: number): Promise<void>;
}

const SETTLED = Promise.resolve();

function channelGone(): Promise<never> {
  return Promise.reject(channelGoneError());
}

function numberHeader(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/**
 * One message from a subscription queue. Attempts: the `x-cloudbus-attempt` header of a retry
 * republish (1 without it) plus the broker's redeliveries (`x-delivery-count` of quorum queues, or
 * 1 for the `redelivered` flag of classic ones).
 */
export class RabbitMqDelivery implements Delivery {
  readonly message: WireMessage;
  readonly attempt: number;
  readonly firstAttemptAt: number;
  readonly destination: string;
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
    if (headers !== undefined) {
      attempt = numberHeader(headers[PrivateHeaders.attempt]) ?? 1;
      firstAttemptAt = numberHeader(headers[PrivateHeaders.firstAttempt]);
      const original = headers[PrivateHeaders.destination];
      if (typeof original === 'string') destination = original;
      // Quorum queues count returns; the flag still says "at least once before" where a broker version does not count this kind of return.
      const count = numberHeader(headers[DELIVERY_COUNT_HEADER]);
      if (count !== undefined && count > redeliveries) redeliveries = count;
    }
    this.attempt = attempt + redeliveries;
    const timestamp = properties.timestamp as unknown;
    this.firstAttemptAt = firstAttemptAt ?? (redeliveries > 0 && typeof timestamp === 'number' ? timestamp * 1000 : Date.now());
    this.destination = destination;
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
    await this.#settleWith(
      env.publisher.publish([
        { id: this.#id(), exchange: env.topology.deadLetterExchange, routingKey: this.destination, content: bodyBuffer(message.body), properties },
      ]),
    );
    this.#consumer.ack(this.#raw);
  }

  /** Awaits a step of nack / deadLetter; when it fails, hands the original back to the queue at once, so it is not stuck unacked. */
  async #settleWith(step: Promise<void>): Promise<void> {
    try {
      await step;
    } catch (error) {
      if (this.#consumer.open) {
        try {
          this.#consumer.nack(this.#raw, true);
        } catch {
          // The channel closed meanwhile: the broker requeues the message itself.
        }
      }
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
