import 'reflect-metadata';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { connect as connectAmqp } from 'amqplib';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';

import { EventHandler, EventType, PermanentError, eventBrand } from '@cloudbus/core';
import '@cloudbus/transport-mqtt';
import '@cloudbus/transport-nats';
import '@cloudbus/transport-rabbitmq';

import { brokerUrl } from '@cloudbus/test/brokers';
import { eventually, proxiedService } from './service-rig.js';

/**
 * What runs leave on the brokers does not pile up for ever: by default the NATS stream keeps
 * events 7 days, and dead letters are kept 30 days on every broker.
 */

const DAY_MS = 86_400_000;

@EventType('com.example.retention.order')
class OrderPlaced {
  declare readonly [eventBrand]: 'com.example.retention.order';
  constructor(readonly n: number) {}
}

@EventHandler(OrderPlaced)
class Refuser {
  handle(): void {
    throw new PermanentError('refused');
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

describe.skipIf(brokerUrl('nats') === undefined)('retention on nats', () => {
  it('keeps events 7 days and dead letters 30 days by default, also on a stream that kept them for ever', async () => {
    const url = brokerUrl('nats')!;
    const { bus, run } = await proxiedService('nats', url, cleanups, { handlers: [Refuser] });
    const stream = run.replace(/[^A-Za-z0-9_-]/g, '_');
    const nc = await connectNats({ servers: new URL(url).host });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    // As an earlier version created it: no age limit.
    await jsm.streams.add({ name: stream, subjects: [`${run}.events.>`], max_age: 0 });
    await bus.start();
    expect((await jsm.streams.info(stream)).config.max_age).toBe(7 * DAY_MS * 1e6);
    expect((await jsm.streams.info(`${stream}_dl`)).config.max_age).toBe(30 * DAY_MS * 1e6);
  });
});

describe.skipIf(brokerUrl('rabbitmq') === undefined)('retention on rabbitmq', () => {
  it('creates the dead-letter queue with a 30-day message TTL', async () => {
    const url = brokerUrl('rabbitmq')!;
    const { bus, run } = await proxiedService('rabbitmq', url, cleanups, { handlers: [Refuser] });
    await bus.start();
    const model = await connectAmqp(url);
    cleanups.push(() => model.close());
    model.on('error', () => {});
    const declaredWith = async (ttl: number) => {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      try {
        await channel.assertQueue(`${run}.deadletter`, {
          durable: true,
          arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 2_000_000_000, 'x-message-ttl': ttl },
        });
        await channel.close();
        return true;
      } catch (error) {
        if ((error as { code?: unknown }).code === 406) return false;
        throw error;
      }
    };
    expect(await declaredWith(30 * DAY_MS)).toBe(true);
    expect(await declaredWith(DAY_MS)).toBe(false);
  });
});

describe.skipIf(brokerUrl('mqtt') === undefined)('retention on mqtt', () => {
  it('stores a dead letter with a 30-day message expiry', async () => {
    const url = brokerUrl('mqtt')!;
    const { bus, run } = await proxiedService('mqtt', url, cleanups, { handlers: [Refuser] });
    await bus.start();
    await bus.publish(new OrderPlaced(1));
    const reader = await mqtt.connectAsync(url, { protocolVersion: 5, clean: true });
    const letters: { topic: string; expiry: number | undefined }[] = [];
    reader.on('message', (topic, _payload, packet) => letters.push({ topic, expiry: packet.properties?.messageExpiryInterval }));
    cleanups.push(async () => {
      await reader.endAsync();
      // Clear the retained dead letters this run left.
      const cleaner = await mqtt.connectAsync(url, { protocolVersion: 5, clean: true });
      for (const { topic } of letters) await cleaner.publishAsync(topic, '', { qos: 1, retain: true });
      await cleaner.endAsync();
    });
    await reader.subscribeAsync(`${run}-deadletter/#`, { qos: 1 });
    await eventually(() => letters.length > 0, 'the dead letter');
    expect(letters[0]!.expiry).toBeGreaterThan(30 * 86_400 - 120);
    expect(letters[0]!.expiry).toBeLessThanOrEqual(30 * 86_400);
  });
});
