import { silentLogger, type ContentMode } from '@cloudbus/core';
import { RabbitMqTransport } from '@cloudbus/transport-rabbitmq';
import amqp from 'amqplib';

import { uniqueName, type Contender } from '../contender.js';
import { cloudbusContender, type PublishStyle } from './cloudbus-contender.js';
import { cloudEventAttributes, orderBytes, type OrderPayload } from '../order-placed.js';
import { WindowedRun } from '../windowed-run.js';

const ROUTING_KEY = 'com.mariopizzeria.order.placed';
const QUORUM = { 'x-queue-type': 'quorum' };

/** Deletes queues and exchanges, ignoring those that do not exist. */
export async function deleteAll(url: string, queues: readonly string[], exchanges: readonly string[]): Promise<void> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  try {
    for (const queue of queues) {
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      await channel.deleteQueue(queue).catch(() => {});
      await channel.close().catch(() => {});
    }
    for (const exchange of exchanges) {
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      await channel.deleteExchange(exchange).catch(() => {});
      await channel.close().catch(() => {});
    }
  } finally {
    await connection.close();
  }
}

/**
 * amqplib as its documentation shows it: a confirm channel, persistent messages, a quorum queue
 * bound to a topic exchange, a consumer with prefetch = window acking each message once handled.
 * With `attributes`, each message also carries the CloudEvent attributes as `cloudEvents_*`
 * headers, as cloudbus sends them in binary mode: the same bytes on the wire, without cloudbus.
 */
export function rawAmqplib(url: string, attributes = false): Contender {
  return {
    name: attributes ? 'amqplib + CloudEvents headers' : 'amqplib (raw)',
    async run(total, window) {
      const exchange = uniqueName('bench-raw');
      const queue = `${exchange}.q`;
      const run = new WindowedRun(total, window);
      const connection = await amqp.connect(url);
      // A broker restarted under the run (another suite's destructive test) fails the run, not the process.
      connection.on('error', run.fail);
      connection.on('close', () => run.fail(new Error('connection closed')));
      try {
        const publisher = await connection.createConfirmChannel();
        const consumer = await connection.createChannel();
        publisher.on('error', run.fail);
        consumer.on('error', run.fail);
        await publisher.assertExchange(exchange, 'topic', { durable: true });
        await consumer.assertQueue(queue, { durable: true, arguments: QUORUM });
        await consumer.bindQueue(queue, exchange, ROUTING_KEY);
        await consumer.prefetch(window);
        await consumer.consume(queue, (message) => {
          if (message === null) return run.fail(new Error('consumer cancelled by the broker'));
          const order = JSON.parse(message.content.toString('utf8')) as OrderPayload;
          consumer.ack(message);
          run.handled(order.sentAt);
        });
        const confirmed = (error: unknown) => {
          if (error != null) run.fail(error);
        };
        return await run.run((from, count) => {
          for (let i = from; i < from + count; i++) {
            const headers = attributes ? amqpHeaders(cloudEventAttributes(i)) : undefined;
            publisher.publish(exchange, ROUTING_KEY, orderBytes(i), { persistent: true, contentType: 'application/json', messageId: `m-${i}`, headers }, confirmed);
          }
        });
      } finally {
        await connection.close().catch(() => {});
        await deleteAll(url, [queue], [exchange]);
      }
    },
  };
}

function amqpHeaders(attributes: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in attributes) headers[`cloudEvents_${name}`] = attributes[name]!;
  return headers;
}

/** cloudbus on @cloudbus/transport-rabbitmq with its defaults (quorum queue, confirms, persistent, manual ack). */
export function cloudbusRabbitMq(url: string, contentMode?: ContentMode, style: PublishStyle = 'batch'): Contender {
  return cloudbusContender('rabbitmq', contentMode, () => {
    const prefix = uniqueName('bench-cb');
    return {
      transport: new RabbitMqTransport({
        url,
        exchange: `${prefix}.events`,
        deadLetterQueue: `${prefix}.deadletter`,
        retryPrefix: `${prefix}.retry`,
        queuePrefix: `${prefix}.`,
        connectionName: prefix,
        logger: silentLogger,
      }),
      cleanup: () => deleteAll(url, [`${prefix}.bench.Counter`, `${prefix}.deadletter`], [`${prefix}.events`, `${prefix}.deadletter`, `${prefix}.retry`]),
    };
  }, style);
}
