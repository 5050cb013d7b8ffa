import { Buffer } from 'node:buffer';

import { MemoryBroker, MemoryTransport, type WireMessage } from '@cloudbus/core';
import { FUZZ_SEED_VARIABLE, fuzzRuns, fuzzSeed, wireFuzz, type ForgedBookkeeping, type FuzzHarness } from '@cloudbus/core/testing/contract';
import { uniqueName } from '@cloudbus/test/brokers';
import { escapeLevel, MqttTopics } from '@cloudbus/transport-mqtt';
import { PrivateHeaders, routingKeyOf } from '@cloudbus/transport-rabbitmq';
import { connect as amqpConnect } from 'amqplib';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';

import { faultBroker } from '../infrastructure/fault-broker.js';
import { faultTargets } from '../infrastructure/targets.js';
import { LONG } from '../infrastructure/timing.js';

/**
 * Wire fuzzing (issue 15): the contract suite's fuzz case (forged bookkeeping included, on
 * RabbitMQ and MQTT), with many more random messages in long mode (`pnpm test:faults --long`: 2,000 per target; CLOUDBUS_FUZZ_RUNS overrides). A failing
 * seed is printed and reruns with CLOUDBUS_FUZZ_SEED.
 */
describe.each(faultTargets(['memory', 'rabbitmq', 'nats', 'mqtt']))('wire fuzz on $target', ({ target, url, skip }) => {
  it.skipIf(skip)('random messages among valid events: every valid event handled once, every random one settled once, nothing thrown', async () => {
    const runs = fuzzRuns(LONG ? 2_000 : 25);
    const seed = fuzzSeed();
    console.log(`[wire fuzz] ${target}: seed ${seed}, ${runs} random messages (rerun one seed with ${FUZZ_SEED_VARIABLE}=${seed})`);
    let harness: FuzzHarness;
    let cleanup = async (): Promise<void> => {};
    if (target === 'memory') {
      const broker = new MemoryBroker();
      harness = {
        createTransport: () => new MemoryTransport({ broker }),
        injectRaw: (type, message) => {
          broker.publish(type, message);
          return Promise.resolve(true);
        },
      };
    } else {
      const broker = faultBroker(target, url!, uniqueName(`fuzz-${target}`));
      harness = { createTransport: () => broker.createTransport(), injectRaw: (type, message) => broker.injectRaw(type, message) };
      if (target === 'rabbitmq') harness.injectForged = (type, _subscription, message, forged) => forgeRabbitMq(url!, String(broker.options['exchange']), type, message, forged);
      if (target === 'mqtt') harness.injectForged = (type, subscription, message, forged) => forgeMqtt(url!, String(broker.options['topicPrefix']), type, subscription, message, forged);
      cleanup = () => broker.cleanup();
    }
    try {
      const report = await wireFuzz(harness, { seed, runs, timeoutMs: LONG ? 600_000 : 60_000 });
      expect(report.deliveries).toBe(report.injected + runs);
    } finally {
      await cleanup();
    }
  });
});

/** A retry republish with its x-cloudbus-* headers forged (numbers where they parse as one). */
async function forgeRabbitMq(url: string, exchange: string, type: string, message: WireMessage, forged: ForgedBookkeeping): Promise<boolean> {
  const number = (value: string) => (value !== '' && Number.isFinite(Number(value)) ? Number(value) : value);
  const headers: Record<string, unknown> = {
    [PrivateHeaders.attempt]: number(forged.attempt),
    [PrivateHeaders.firstAttempt]: number(forged.firstAttempt),
    [PrivateHeaders.destination]: forged.destination,
  };
  for (const name in message.headers) headers[`cloudEvents_${name}`] = message.headers[name];
  const model = await amqpConnect(url.split(',')[0]!.trim());
  try {
    const channel = await model.createConfirmChannel();
    channel.on('error', () => {});
    return await new Promise<boolean>((resolve) => {
      try {
        channel.publish(exchange, routingKeyOf(type), Buffer.from(message.body), { headers, ...(message.contentType === undefined ? {} : { contentType: message.contentType }) }, (error: unknown) =>
          resolve(error === null || error === undefined),
        );
      } catch {
        resolve(false);
      }
    });
  } finally {
    await model.close().catch(() => {});
  }
}

/** A message on the subscription's redelivery topic, its levels forged. */
async function forgeMqtt(url: string, prefix: string, type: string, subscription: string, message: WireMessage, forged: ForgedBookkeeping): Promise<boolean> {
  const topics = new MqttTopics(prefix);
  const topic = `${topics.redeliverRoot}/${escapeLevel(subscription)}/${forged.attempt}/${forged.firstAttempt}/${forged.notBefore}/${forged.destination || topics.forType(type)}`;
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  client.on('error', () => {});
  try {
    const properties: Record<string, unknown> = {};
    if (Object.keys(message.headers).length > 0) properties['userProperties'] = message.headers;
    if (message.contentType !== undefined) properties['contentType'] = message.contentType;
    const closed = new Promise<boolean>((resolve) => client.once('close', () => resolve(false)));
    return await Promise.race([client.publishAsync(topic, Buffer.from(message.body), { qos: 1, properties }).then(() => true, () => false), closed]);
  } finally {
    await client.endAsync(true);
  }
}
