import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

import type { Transport } from '@cloudbus/core';

/**
 * Test support: deletes what a test run declared on a broker, with the broker's own client as
 * its transport package depends on it (loaded from there, so the pizzeria does not depend on
 * broker clients itself).
 */
async function importFrom<T>(transportPackage: string, specifier: string): Promise<T> {
  const packageJson = createRequire(import.meta.url).resolve(`${transportPackage}/package.json`);
  const resolved = createRequire(packageJson).resolve(specifier);
  return (await import(pathToFileURL(resolved).href)) as T;
}

interface RabbitTopology {
  readonly exchanges: readonly string[];
  readonly queues: readonly string[];
}

/** Reads what a RabbitMQ transport declared (call before it closes, keep the result). */
export function rabbitTopologyOf(transport: Transport): RabbitTopology {
  return (transport as unknown as { declaredTopology(): RabbitTopology }).declaredTopology();
}

/** Deletes RabbitMQ queues and exchanges. */
export async function deleteRabbitTopology(url: string, topologies: readonly RabbitTopology[]): Promise<void> {
  const amqp = await importFrom<{ connect(url: string): Promise<{ createChannel(): Promise<{ on(e: string, f: () => void): void; deleteQueue(q: string): Promise<unknown>; deleteExchange(e: string): Promise<unknown>; close(): Promise<void> }>; close(): Promise<void>; on(e: string, f: () => void): void }> }>(
    '@cloudbus/transport-rabbitmq',
    'amqplib',
  );
  const model = await amqp.connect(url);
  model.on('error', () => {});
  try {
    for (const kind of ['queues', 'exchanges'] as const) {
      for (const name of new Set(topologies.flatMap((t) => t[kind]))) {
        const channel = await model.createChannel();
        channel.on('error', () => {});
        await (kind === 'queues' ? channel.deleteQueue(name) : channel.deleteExchange(name)).catch(() => {});
        await channel.close().catch(() => {});
      }
    }
  } finally {
    await model.close().catch(() => {});
  }
}

/** Deletes JetStream streams (their consumers go with them). */
export async function deleteNatsStreams(url: string, streams: readonly string[]): Promise<void> {
  const { connect } = await importFrom<{ connect(o: { servers: string }): Promise<{ close(): Promise<void> }> }>('@cloudbus/transport-nats', '@nats-io/transport-node');
  const { jetstreamManager } = await importFrom<{ jetstreamManager(nc: unknown): Promise<{ streams: { delete(name: string): Promise<boolean> } }> }>(
    '@cloudbus/transport-nats',
    '@nats-io/jetstream',
  );
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}

/** Deletes the retained dead letters of an MQTT transport (call before it closes). */
export async function deleteMqttDeadLetters(transport: Transport): Promise<void> {
  await (transport as unknown as { deleteDeadLetters(): Promise<number> }).deleteDeadLetters();
}

