import { Buffer } from 'node:buffer';

import { encodeCloudEvent, PublishError, TransportClosedError, type CloudEvent } from '@cloudbus/core';
import { toAmqpConnectArguments, type ResolvedRabbitMqOptions } from '@cloudbus/transport-rabbitmq';
import { routingKeyOf } from '@cloudbus/transport-rabbitmq/wire';
import amqp from 'amqplib';

import type { BrokerTap, TapListener } from './broker-tap.js';
import { amqpPublishOptions, tappedFromAmqp } from './rabbitmq-mapping.js';

/** Options of the RabbitMQ tap. */
export interface RabbitMqTapOptions {
  /** The RabbitMQ transport's resolved options: URL, credentials, TLS, exchange and dead-letter names. */
  readonly connection: ResolvedRabbitMqOptions;
  /**
   * Read the dead letters already stored in the dead-letter queue when opening (browsed: fetched
   * without ack, then handed back by closing the channel).
   * @default true
   */
  readonly browseStoredDeadLetters?: boolean | undefined;
}

/**
 * Taps RabbitMQ read-only: an exclusive, auto-delete, server-named queue of its own, bound with
 * `#` to the events exchange and to the dead-letter fanout exchange, consumed without acks. The
 * application's queues are never touched; the broker deletes the tap's queue when it disconnects.
 */
export class RabbitMqTap implements BrokerTap {
  readonly #connectionOptions: ResolvedRabbitMqOptions;
  readonly #exchange: string;
  readonly #deadLetterExchange: string;
  readonly #browse: boolean;
  #connection: amqp.ChannelModel | undefined;
  #publisher: amqp.ConfirmChannel | undefined;
  #closing = false;

  constructor(options: RabbitMqTapOptions) {
    this.#connectionOptions = options.connection;
    this.#exchange = options.connection.exchange;
    this.#deadLetterExchange = options.connection.deadLetterQueue;
    this.#browse = options.browseStoredDeadLetters ?? true;
  }

  async open(listener: TapListener): Promise<void> {
    // The transport's own connect arguments: amqps:// with its TLS settings, credentials apart from the URL.
    const { url, socketOptions } = toAmqpConnectArguments(this.#connectionOptions);
    const connection = await amqp.connect(url, socketOptions);
    this.#connection = connection;
    connection.on('error', () => undefined);
    connection.on('close', () => {
      this.#connection = undefined;
      if (!this.#closing) listener.failed(new TransportClosedError('The RabbitMQ connection of the tap was lost.'));
    });
    const channel = await connection.createChannel();
    channel.on('error', () => undefined); // reported through the connection's close, or the cancel below
    // Same declarations as the transport (idempotent): the tap can open before the application.
    await channel.assertExchange(this.#exchange, 'topic', { durable: true });
    await channel.assertExchange(this.#deadLetterExchange, 'fanout', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(queue, this.#exchange, '#');
    await channel.bindQueue(queue, this.#deadLetterExchange, '');
    if (this.#browse) await this.#browseDeadLetters(connection, listener);
    await channel.consume(
      queue,
      (message) => {
        if (message !== null) listener.message(tappedFromAmqp(message, message.fields.exchange === this.#deadLetterExchange));
        else if (!this.#closing) listener.failed(new TransportClosedError('RabbitMQ cancelled the tap consumer (its queue or an exchange was deleted).'));
      },
      { noAck: true, exclusive: true },
    );
    const publisher = await connection.createConfirmChannel();
    publisher.on('error', () => undefined);
    this.#publisher = publisher;
  }

  async #browseDeadLetters(connection: amqp.ChannelModel, listener: TapListener): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.checkQueue(this.#deadLetterExchange);
      for (;;) {
        const message = await channel.get(this.#deadLetterExchange, { noAck: false });
        if (message === false) break;
        listener.message(tappedFromAmqp(message, true));
      }
    } catch {
      // No dead-letter queue yet: nothing stored.
    } finally {
      // Closing hands every fetched message back, in order.
      await channel.close().catch(() => undefined);
    }
  }

  async publish(event: CloudEvent, destination?: string): Promise<void> {
    const publisher = this.#publisher;
    if (publisher === undefined) throw new TransportClosedError('The RabbitMQ tap is not open.');
    const message = encodeCloudEvent(event, 'binary');
    const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
    publisher.publish(this.#exchange, destination ?? routingKeyOf(event.type), body, amqpPublishOptions(event.id, message));
    try {
      await publisher.waitForConfirms();
    } catch (error) {
      throw new PublishError(`RabbitMQ did not confirm event ${event.id}.`, [event.id], { cause: error });
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    const connection = this.#connection;
    this.#connection = undefined;
    this.#publisher = undefined;
    await connection?.close().catch(() => undefined);
  }
}
