import { Buffer } from 'node:buffer';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { silentLogger, type Transport, type WireMessage } from '@cloudbus/core';
import { MqttTopics, MqttTransport } from '@cloudbus/transport-mqtt';
import { NatsTransport, encodeHeaderValue, subjectForType } from '@cloudbus/transport-nats';
import { RabbitMqTransport, routingKeyOf } from '@cloudbus/transport-rabbitmq';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, headers as natsHeaders } from '@nats-io/transport-node';
import { connect as amqpConnect } from 'amqplib';
import mqtt from 'mqtt';

const run = promisify(execFile);

/** The brokers the battery runs against. */
export type FaultBrokerKind = 'rabbitmq' | 'nats' | 'mqtt';

/**
 * One broker, seen by a fault case: transport options with names unique to the case, a transport
 * for the test's own publisher (and for reading dead letters), raw injection as a foreign producer
 * would do it, and cleanup of everything the case declared.
 */
export interface FaultBroker {
  readonly kind: FaultBrokerKind;
  /** Broker URL (or the proxy's, when built with one). */
  readonly url: string;
  /** Transport options naming this case's exchange / streams / topic prefix. JSON only. */
  readonly options: Record<string, unknown>;
  /** A new transport on these names, for the test process. */
  createTransport(url?: string): Transport & { readDeadLetters(): Promise<readonly { message: WireMessage; destination: string }[]> };
  /**
   * Publishes a raw message for `type`, as a foreign producer would. Resolves false when the broker
   * itself refuses it (Mosquitto drops a client whose user property holds control characters).
   */
  injectRaw(type: string, message: WireMessage): Promise<boolean>;
  /** Deletes what the case declared on the broker. */
  cleanup(): Promise<void>;
}

/**
 * Builds a {@link FaultBroker} with names derived from `name` (unique per case and run);
 * `extra` transport options (JSON only) come on top, for every client of the case.
 */
export function faultBroker(kind: FaultBrokerKind, url: string, name: string, extra: Readonly<Record<string, unknown>> = {}): FaultBroker {
  switch (kind) {
    case 'rabbitmq':
      return rabbitBroker(url, name, extra);
    case 'nats':
      return natsBroker(url, name, extra);
    case 'mqtt':
      return mqttBroker(url, name, extra);
  }
}

function rabbitBroker(url: string, name: string, extra: Readonly<Record<string, unknown>>): FaultBroker {
  // A cluster's URL list: injection and cleanup go through its first node.
  const adminUrl = url.split(',')[0]!.trim();
  const options = {
    exchange: `${name}.events`,
    deadLetterQueue: `${name}.deadletter`,
    retryPrefix: `${name}.retry`,
    queuePrefix: `${name}.q.`,
    reconnectMaxDelayMs: 1_000,
    ...extra,
  };
  return {
    kind: 'rabbitmq',
    url,
    options,
    createTransport: (at = url) => new RabbitMqTransport({ ...options, url: at, logger: silentLogger }),
    async injectRaw(type, message) {
      const model = await amqpConnect(adminUrl);
      try {
        const channel = await model.createConfirmChannel();
        const headers: Record<string, string> = {};
        for (const header in message.headers) headers[`cloudEvents_${header}`] = message.headers[header]!;
        await new Promise<void>((resolve, reject) => {
          channel.publish(
            options.exchange,
            routingKeyOf(type),
            Buffer.from(message.body),
            { persistent: true, headers, ...(message.contentType === undefined ? {} : { contentType: message.contentType }) },
            (error: unknown) => (error == null ? resolve() : reject(error as Error)),
          );
        });
        return true;
      } finally {
        await model.close().catch(() => {});
      }
    },
    async cleanup() {
      const { stdout } = await run('rabbitmqctl', ['list_queues', '-q', '--no-table-headers', 'name'], { timeout: 60_000 }).catch(() => ({ stdout: '' }));
      const queues = stdout.split('\n').map((line) => line.trim()).filter((queue) => queue.startsWith(`${name}.`));
      const model = await amqpConnect(adminUrl);
      model.on('error', () => {});
      try {
        for (const queue of queues) {
          const channel = await model.createChannel();
          channel.on('error', () => {});
          await channel.deleteQueue(queue).catch(() => {});
          await channel.close().catch(() => {});
        }
        for (const exchange of [options.exchange, options.deadLetterQueue, options.retryPrefix]) {
          const channel = await model.createChannel();
          channel.on('error', () => {});
          await channel.deleteExchange(exchange).catch(() => {});
          await channel.close().catch(() => {});
        }
      } finally {
        await model.close().catch(() => {});
      }
    },
  };
}

function natsBroker(url: string, name: string, extra: Readonly<Record<string, unknown>>): FaultBroker {
  const token = name.replace(/[^A-Za-z0-9_-]/g, '_');
  const options = {
    stream: `${token}_EVENTS`,
    deadLetterStream: `${token}_DLQ`,
    subjectPrefix: token,
    reconnectTimeWaitMs: 250,
    // A killed consumer's deliveries come back after AckWait: short, so the battery stays quick.
    ackWaitMs: 5_000,
    ...extra,
  };
  return {
    kind: 'nats',
    url,
    options,
    createTransport: (at = url) => new NatsTransport({ ...options, url: at, logger: silentLogger }, 'faults'),
    async injectRaw(type, message) {
      const nc = await natsConnect({ servers: url.split(',') });
      try {
        const headers = natsHeaders();
        for (const header in message.headers) headers.set(`ce-${header}`, encodeHeaderValue(message.headers[header]!));
        if (message.contentType !== undefined) headers.set('Content-Type', message.contentType);
        const jsm = await jetstreamManager(nc);
        await jsm.jetstream().publish(subjectForType(options.subjectPrefix, type), message.body, { headers });
        return true;
      } finally {
        await nc.close();
      }
    },
    async cleanup() {
      const nc = await natsConnect({ servers: url.split(',') });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.delete(options.stream).catch(() => false);
        await jsm.streams.delete(options.deadLetterStream).catch(() => false);
      } finally {
        await nc.close();
      }
    },
  };
}

function mqttBroker(url: string, name: string, extra: Readonly<Record<string, unknown>>): FaultBroker {
  const options = { topicPrefix: name, sessionExpirySeconds: 300, instanceId: name, reconnectMinDelayMs: 100, reconnectMaxDelayMs: 1_000, ...extra };
  const topics = new MqttTopics(name);
  const create = (at = url) => new MqttTransport({ ...options, url: at });
  return {
    kind: 'mqtt',
    url,
    options,
    createTransport: create,
    async injectRaw(type, message) {
      const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
      client.on('error', () => {});
      try {
        const properties: Record<string, unknown> = {};
        if (Object.keys(message.headers).length > 0) properties['userProperties'] = message.headers;
        if (message.contentType !== undefined) properties['contentType'] = message.contentType;
        // The broker answers a malformed packet by closing the connection: no PUBACK ever comes.
        const closed = new Promise<boolean>((resolve) => client.once('close', () => resolve(false)));
        return await Promise.race([client.publishAsync(topics.forType(type), Buffer.from(message.body), { qos: 1, properties }).then(() => true), closed]);
      } finally {
        await client.endAsync(true);
      }
    },
    async cleanup() {
      const transport = create();
      await transport.connect();
      try {
        await transport.deleteDeadLetters();
      } finally {
        await transport.close();
      }
    },
  };
}
