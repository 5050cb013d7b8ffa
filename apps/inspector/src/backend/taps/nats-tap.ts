import { encodeCloudEvent, PublishError, TransportClosedError, type CloudEvent } from '@cloudbus/core';
import { DeliverPolicy, jetstream, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import { natsConnectionOptions, type ResolvedNatsOptions } from '@cloudbus/transport-nats';
import { subjectForType, writeHeaders } from '@cloudbus/transport-nats/wire';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';

import type { BrokerTap, TapListener } from './broker-tap.js';
import { tappedFromNats } from './nats-mapping.js';

/** Options of the NATS JetStream tap. */
export interface NatsTapOptions {
  /** The NATS transport's resolved options: servers, TLS, credentials, stream and subject names. */
  readonly connection: ResolvedNatsOptions;
}

/**
 * Taps NATS JetStream read-only with ordered, ephemeral consumers: new events on the events stream,
 * and every stored dead letter on the dead-letter stream. Ordered consumers never ack and vanish
 * with the connection; the application's durable consumers are untouched.
 */
export class NatsTap implements BrokerTap {
  readonly #options: ResolvedNatsOptions;
  readonly #stream: string;
  readonly #deadLetterStream: string;
  readonly #prefix: string;
  readonly #deadLetterPrefix: string;
  #connection: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  readonly #consumers: ConsumerMessages[] = [];
  #closing = false;

  constructor(options: NatsTapOptions) {
    this.#options = options.connection;
    this.#stream = options.connection.stream;
    this.#deadLetterStream = options.connection.deadLetterStream;
    this.#prefix = options.connection.subjectPrefix;
    this.#deadLetterPrefix = options.connection.deadLetterSubjectPrefix;
  }

  async open(listener: TapListener): Promise<void> {
    // The transport's own connection options: a tls:// URL requires TLS before CONNECT is sent.
    const connection = await connect(await natsConnectionOptions(this.#options));
    this.#connection = connection;
    void connection.closed().then((error) => {
      if (!this.#closing) listener.failed(error instanceof Error ? error : new TransportClosedError('The NATS connection of the tap was closed.'));
    });
    const js = jetstream(connection);
    this.#js = js;
    const deadLetterPrefix = this.#deadLetterPrefix;
    const read = async (stream: string, deliverPolicy: DeliverPolicy): Promise<void> => {
      const consumer = await js.consumers.get(stream, { deliver_policy: deliverPolicy });
      const messages = await consumer.consume({
        callback: (message) => listener.message(tappedFromNats(message.subject, message.headers, message.data, deadLetterPrefix)),
      });
      this.#consumers.push(messages);
    };
    await read(this.#stream, DeliverPolicy.New);
    try {
      await read(this.#deadLetterStream, DeliverPolicy.All);
    } catch {
      // No dead-letter stream yet: the transport creates it when the application connects.
    }
  }

  async publish(event: CloudEvent, destination?: string): Promise<void> {
    const js = this.#js;
    if (js === undefined) throw new TransportClosedError('The NATS tap is not open.');
    const message = encodeCloudEvent(event, 'binary');
    const headers = natsHeaders();
    writeHeaders(message, headers);
    try {
      await js.publish(destination ?? subjectForType(this.#prefix, event.type), message.body, { headers, msgID: event.id });
    } catch (error) {
      throw new PublishError(`JetStream did not acknowledge event ${event.id}.`, [event.id], { cause: error });
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const messages of this.#consumers.splice(0)) await messages.close().catch(() => undefined);
    const connection = this.#connection;
    this.#connection = undefined;
    this.#js = undefined;
    await connection?.close().catch(() => undefined);
  }
}
