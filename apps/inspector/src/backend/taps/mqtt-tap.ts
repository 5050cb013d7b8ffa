import { encodeCloudEvent, PublishError, TransportClosedError, type CloudEvent } from '@cloudbus/core';
import type { ResolvedMqttOptions } from '@cloudbus/transport-mqtt';
import { credentialOptions, MqttTopics, toMqttProperties } from '@cloudbus/transport-mqtt/wire';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

import type { BrokerTap, TapListener } from './broker-tap.js';
import { tappedFromMqtt } from './mqtt-mapping.js';

/** Options of the MQTT tap. */
export interface MqttTapOptions {
  /** The MQTT transport's resolved options: URL without credentials, user and password, TLS, topic prefix. */
  readonly connection: ResolvedMqttOptions;
}

/**
 * Taps MQTT read-only: a clean MQTT 5 session subscribing to `<prefix>/#` and
 * `<prefix>-deadletter/#` without a shared group, so it gets its own copy and competes with no
 * one; the retained dead letters arrive on subscribing.
 */
export class MqttTap implements BrokerTap {
  readonly #options: ResolvedMqttOptions;
  readonly #prefix: string;
  readonly #topics: MqttTopics;
  #client: MqttClient | undefined;
  #closing = false;

  constructor(options: MqttTapOptions) {
    this.#options = options.connection;
    this.#prefix = options.connection.topicPrefix;
    this.#topics = new MqttTopics(this.#prefix);
  }

  async open(listener: TapListener): Promise<void> {
    const options = this.#options;
    const clientOptions: IClientOptions = {
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeoutMs,
      clientId: `cloudbus-inspector-${Math.random().toString(36).slice(2, 10)}`,
      ...credentialOptions(options),
    };
    const client = await mqtt.connectAsync(options.url, clientOptions);
    this.#client = client;
    client.on('message', (topic, payload, packet) => listener.message(tappedFromMqtt(topic, payload, packet, this.#prefix)));
    client.on('close', () => {
      if (!this.#closing) listener.failed(new TransportClosedError('The MQTT connection of the tap was closed.'));
    });
    await client.subscribeAsync({ [this.#topics.eventFilter()]: { qos: 1 }, [this.#topics.deadLetterFilter()]: { qos: 1 } });
  }

  async publish(event: CloudEvent, destination?: string): Promise<void> {
    const client = this.#client;
    if (client === undefined) throw new TransportClosedError('The MQTT tap is not open.');
    const message = encodeCloudEvent(event, 'binary');
    try {
      const properties = toMqttProperties(message);
      await client.publishAsync(destination ?? this.#topics.forType(event.type), Buffer.from(message.body), { qos: 1, ...(properties === undefined ? {} : { properties }) });
    } catch (error) {
      throw new PublishError(`The MQTT broker did not acknowledge event ${event.id}.`, [event.id], { cause: error });
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    const client = this.#client;
    this.#client = undefined;
    await client?.endAsync().catch(() => undefined);
  }
}
