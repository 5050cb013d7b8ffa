import type { Delivery, Logger, Subscription, SubscriptionSpec } from '@cloudbus/core/transport';
import type { ChannelModel, ConsumeMessage } from 'amqplib';

import { closeChannel, type ClosingSteps } from './closing-steps.js';
import { ConsumerChannel } from './consumer-channel.js';
import { RabbitMqDelivery, type DeliveryEnvironment } from './rabbitmq-delivery.js';

/** What a subscription needs from its transport. */
export interface SubscriptionEnvironment extends DeliveryEnvironment {
  readonly logger: Logger;
  /** Bounds stop() and close() on a connection that no longer answers. */
  readonly closing: ClosingSteps;
  /** Wait before re-opening a channel that failed while the connection stayed up, in ms. */
  readonly retryDelayMs: number;
  /**
   * True while `model` is open and in use or being set up: a channel of it that closed is reopened
   * on it (see RabbitMqConnection.isLive). False once it closed: the reconnection restarts every
   * subscription on the next one.
   */
  isLive(model: ChannelModel): boolean;
  /**
   * Waits for a set-up step on `model` at most `setupTimeoutMs`; past it the connection is dropped
   * (and reconnected) and the step rejects (see RabbitMqConnection.setupStep).
   */
  setupStep<T>(model: ChannelModel, step: Promise<T>, what: string): Promise<T>;
  /** Forgets a closed subscription. */
  forget(subscription: RabbitMqSubscription): void;
}

type State = 'consuming' | 'stopped' | 'closed';

/**
 * A handler's subscription: one channel with prefetch = `spec.concurrency` (per consumer), the
 * queue declared and bound on every (re)start, and one consumer on it. After a lost connection
 * the transport calls {@link start} again on the new one; after a channel error on a live
 * connection (queue deleted, consumer cancelled by the broker) it restarts itself.
 */
export class RabbitMqSubscription implements Subscription {
  readonly spec: SubscriptionSpec;
  readonly #env: SubscriptionEnvironment;
  readonly #onDelivery: (delivery: Delivery) => void;
  #state: State = 'consuming';
  #consumer: ConsumerChannel | undefined;
  /** The connection of {@link #consumer}. */
  #consumerModel: ChannelModel | undefined;
  #consumerTag: string | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #startedOn: ChannelModel | undefined;
  #starting: Promise<void> | undefined;

  constructor(spec: SubscriptionSpec, env: SubscriptionEnvironment, onDelivery: (delivery: Delivery) => void) {
    this.spec = spec;
    this.#env = env;
    this.#onDelivery = onDelivery;
  }

  /**
   * Opens a channel on `model`, declares the queue and its bindings, and consumes unless stopped.
   * Idempotent per connection: a second call while the first runs or after it succeeded does nothing more.
   */
  start(model: ChannelModel): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    if (this.#startedOn === model && this.#starting !== undefined) return this.#starting;
    this.#startedOn = model;
    const starting = this.#start(model).catch((error: unknown) => {
      if (this.#starting === starting) {
        this.#startedOn = undefined;
        this.#starting = undefined;
      }
      throw error;
    });
    this.#starting = starting;
    return starting;
  }

  async #start(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    const consumer = new ConsumerChannel(channel);
    let lastError: unknown;
    channel.on('error', (error: unknown) => {
      lastError = error;
    });
    channel.once('close', () => {
      consumer.markClosed();
      this.#onChannelClose(consumer, model, lastError);
    });
    try {
      const env = this.#env;
      await env.topology.declareSubscription(channel, env.queue, this.spec.types);
      await channel.prefetch(this.spec.concurrency, false);
      this.#consumer = consumer;
      this.#consumerModel = model;
      if (this.#state === 'consuming') {
        const onMessage = (raw: ConsumeMessage | null) => this.#deliver(consumer, raw);
        this.#consumerTag = (await channel.consume(env.queue, onMessage, { noAck: false })).consumerTag;
      }
    } catch (error) {
      if (this.#consumer === consumer) {
        this.#consumer = undefined;
        this.#consumerModel = undefined;
      }
      consumer.markClosed();
      await closeChannel(channel);
      throw lastError ?? error;
    }
  }

  /**
   * Cancels the consumer: no new deliveries; those handed out can still be settled. Waits for the
   * broker `closeTimeoutMs` at most (a connection that does not answer in time is taken for
   * unresponsive: later closing steps on it do not wait).
   */
  async stop(): Promise<void> {
    if (this.#state !== 'consuming') return;
    this.#state = 'stopped';
    const consumer = this.#consumer;
    const model = this.#consumerModel;
    const tag = this.#consumerTag;
    this.#consumerTag = undefined;
    if (consumer?.open === true && model !== undefined && tag !== undefined) await this.#env.closing.wait(model, consumer.channel.cancel(tag));
  }

  /**
   * Closes the channel: the broker puts every unsettled delivery back in the queue. Waits for the
   * broker until `deadline` (default `closeTimeoutMs` from now) at most; a channel left closing
   * then goes with its connection, and its deliveries return to the queue when the broker notices
   * the connection is gone.
   */
  async close(deadline?: number): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#restartTimer);
    this.#env.forget(this);
    const consumer = this.#consumer;
    const model = this.#consumerModel;
    this.#consumer = undefined;
    this.#consumerModel = undefined;
    if (consumer?.open === true && model !== undefined) {
      // Acks asked for in this turn go out first: those messages are not delivered again.
      consumer.flush();
      consumer.markClosed();
      await this.#env.closing.wait(model, closeChannel(consumer.channel), deadline);
    }
  }

  #deliver(consumer: ConsumerChannel, raw: ConsumeMessage | null): void {
    if (raw === null) {
      // The broker cancelled the consumer (queue deleted, node down): start over on a new channel.
      if (this.#state === 'consuming' && consumer.open) {
        this.#env.logger.warn('rabbitmq transport: the broker cancelled a consumer; re-declaring its queue', { queue: this.#env.queue });
        // Acks asked for so far are still valid on this channel; later ones are not (it is closing).
        consumer.flush();
        consumer.markClosed();
        consumer.channel.close().catch(() => {});
      }
      return;
    }
    consumer.delivered(raw);
    let delivery: RabbitMqDelivery;
    try {
      delivery = new RabbitMqDelivery(raw, consumer, this.#env);
    } catch (error) {
      // Never expected; never let a message crash the consumer, nor come back in a loop: rejected
      // without requeue, the queue's dead-letter exchange takes it as it is.
      this.#env.logger.error('rabbitmq transport: could not read a message; rejected to the dead-letter queue as it is', { error: String(error) });
      consumer.nack(raw, false);
      return;
    }
    this.#onDelivery(delivery);
  }

  #onChannelClose(consumer: ConsumerChannel, model: ChannelModel, error: unknown): void {
    if (this.#consumer !== consumer) return;
    this.#consumer = undefined;
    this.#consumerModel = undefined;
    this.#consumerTag = undefined;
    this.#startedOn = undefined;
    this.#starting = undefined;
    if (this.#state === 'closed') return;
    // On a lost connection the transport restarts every subscription once reconnected. A channel
    // closed while the connection is being set up is reopened too: the set-up does not look back.
    if (!this.#env.isLive(model)) return;
    this.#env.logger.warn('rabbitmq transport: a consumer channel closed; reopening it', {
      queue: this.#env.queue,
      error: error instanceof Error ? error.message : undefined,
    });
    this.#scheduleRestart(model);
  }

  #scheduleRestart(model: ChannelModel): void {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      if (this.#state === 'closed' || this.#consumer !== undefined || !this.#env.isLive(model)) return;
      // Bounded: a broker that leaves the new channel's set-up unanswered gets the connection
      // dropped; the reconnection then starts this subscription again (isLive is false from then on).
      this.#env.setupStep(model, this.start(model), `the restart of the consumer of queue '${this.#env.queue}'`).catch((error: unknown) => {
        this.#env.logger.warn('rabbitmq transport: could not reopen a consumer; trying again', {
          queue: this.#env.queue,
          error: error instanceof Error ? error.message : String(error),
        });
        this.#scheduleRestart(model);
      });
    }, this.#env.retryDelayMs);
  }
}
