import { EventBus, EventType, On, eventBrand, retry, silentLogger, type EventContext, type Transport } from '@cloudbus/core';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { MqttTransport } from '@cloudbus/transport-mqtt';
import { NatsTransport } from '@cloudbus/transport-nats';
import { RabbitMqTransport } from '@cloudbus/transport-rabbitmq';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ConnectionProfile } from '../../shared/connection-profile.js';
import { InspectorBackend } from '../inspector-backend.js';

@EventType('com.example.tap.ping')
class Ping {
  declare readonly [eventBrand]: 'com.example.tap.ping';
  constructor(readonly n: string) {}
}

const received: { id: string; causationid: string; replay: boolean }[] = [];
/** What the refusing handler got when a replay reached it. */
const replayed: { id: string; causationid: string; replay: boolean }[] = [];

class TapShop {
  @On(Ping) echo(_event: Ping, ctx: EventContext): void {
    received.push({ id: ctx.cloudEvent.id, causationid: String(ctx.cloudEvent.causationid ?? ''), replay: ctx.cloudEvent['inspectorreplay'] !== undefined });
  }
  @On(Ping, { retry: retry.none() }) refuse(_event: Ping, ctx: EventContext): void {
    if (ctx.cloudEvent['inspectorreplay'] === undefined) throw new Error('refused');
    replayed.push({ id: ctx.cloudEvent.id, causationid: String(ctx.cloudEvent.causationid ?? ''), replay: true });
  }
}

interface BrokerCase {
  readonly kind: 'rabbitmq' | 'nats' | 'mqtt';
  setup(url: string, run: string): { transport: Transport; profile: ConnectionProfile; cleanup(): Promise<void> };
}

const cases: BrokerCase[] = [
  {
    kind: 'rabbitmq',
    setup: (url, run) => {
      const transport = new RabbitMqTransport({ url, queueType: 'classic', exchange: `${run}.events`, deadLetterQueue: `${run}.dl`, retryPrefix: `${run}.retry`, queuePrefix: `${run}.`, logger: silentLogger });
      return {
        transport,
        profile: { id: 'p', name: 'p', broker: 'rabbitmq', url, exchange: `${run}.events`, deadLetterExchange: `${run}.dl` },
        cleanup: async () => {
          const topology = transport.declaredTopology();
          const connection = await amqp.connect(url);
          const channel = await connection.createChannel();
          for (const queue of topology.queues) await channel.deleteQueue(queue);
          for (const exchange of topology.exchanges) await channel.deleteExchange(exchange);
          await connection.close();
        },
      };
    },
  },
  {
    kind: 'nats',
    setup: (url, run) => {
      const id = run.replace(/[^A-Za-z0-9]/g, '_');
      const options = { url, stream: `S_${id}`, deadLetterStream: `DL_${id}`, subjectPrefix: `t_${id}`, logger: silentLogger };
      return {
        transport: new NatsTransport(options, 'tapshop'),
        profile: { id: 'p', name: 'p', broker: 'nats', url, stream: options.stream, deadLetterStream: options.deadLetterStream, subjectPrefix: options.subjectPrefix },
        cleanup: async () => {
          const address = new URL(url);
          const connection = await natsConnect({ servers: `${address.hostname}:${address.port}` });
          const jsm = await jetstreamManager(connection);
          for (const stream of [options.stream, options.deadLetterStream]) await jsm.streams.delete(stream).catch(() => undefined);
          await connection.close();
        },
      };
    },
  },
  {
    kind: 'mqtt',
    setup: (url, run) => {
      const prefix = `t-${run}`;
      return {
        transport: new MqttTransport({ url, topicPrefix: prefix, service: 'tapshop', sessionExpirySeconds: 1 }),
        profile: { id: 'p', name: 'p', broker: 'mqtt', url, topicPrefix: prefix },
        cleanup: async () => {
          // Dead letters are retained messages: clear every one under this run's prefix.
          const client = await mqtt.connectAsync(url, { protocolVersion: 5 });
          const topics = new Set<string>();
          client.on('message', (topic, payload) => {
            if (payload.byteLength > 0) topics.add(topic);
          });
          await client.subscribeAsync(`${prefix}-deadletter/#`);
          await new Promise((resolve) => setTimeout(resolve, 500));
          for (const topic of topics) await client.publishAsync(topic, '', { retain: true, qos: 1 });
          await client.endAsync();
        },
      };
    },
  },
];

for (const brokerCase of cases) {
  const url = brokerUrl(brokerCase.kind);
  describe.skipIf(!url)(`the ${brokerCase.kind} tap`, () => {
    const run = uniqueName(`tap-${brokerCase.kind}`);
    let setup: ReturnType<BrokerCase['setup']>;
    let bus: EventBus;
    let backend: InspectorBackend;

    beforeAll(async () => {
      setup = brokerCase.setup(url!, run);
      bus = new EventBus({ service: 'tapshop', transport: setup.transport, handlers: [TapShop], publishTelemetry: { intervalMs: 50 }, logger: silentLogger });
      await bus.start();
      backend = new InspectorBackend({ profiles: [setup.profile] });
      const status = await backend.open('p');
      expect(status).toMatchObject({ state: 'open' });
    }, 60_000);

    afterAll(async () => {
      await backend?.close();
      await bus?.stop({ drainTimeoutMs: 5_000 });
      await setup?.cleanup();
    }, 60_000);

    it('sees the event, the handlers\' telemetry and the dead letter without taking anything from the handlers', async () => {
      const before = received.length;
      await bus.publish(new Ping(run));
      const summaries = () => backend.capture.snapshot().events;
      await expect.poll(() => summaries().some((s) => s.kind === 'dead-letter' && s.deadLetterHandler === 'tapshop.TapShop.refuse'), { timeout: 30_000 }).toBe(true);
      const event = summaries().find((s) => s.kind === 'event' && s.type === 'com.example.tap.ping')!;
      expect(event).toBeDefined();
      await expect.poll(() => backend.capture.flow(event.correlationId).lanes.map((l) => `${l.handler}:${l.outcome}`).sort(), { timeout: 30_000 }).toEqual([
        'tapshop.TapShop.echo:succeeded',
        'tapshop.TapShop.refuse:dead-lettered',
      ]);
      // The tap competed with no one: the application's handler got the event.
      expect(received.length).toBe(before + 1);
    });

    it('replays a dead letter to the handler that gave up, with a new id caused by the dead letter, and to no other', async () => {
      const group = backend.capture.deadLetterGroups().find((g) => g.handler === 'tapshop.TapShop.refuse')!;
      const entry = group.entries.at(-1)!;
      const result = (await backend.handle({ kind: 'request', requestId: 1, name: 'deadletters.replay', params: { seqs: [entry.seq] } })) as { replayed: { id: string }[]; failed: unknown[] };
      expect(result.failed).toEqual([]);
      const replayId = result.replayed[0]!.id;
      expect(replayId).not.toBe(entry.id);
      await expect.poll(() => replayed.find((r) => r.id === replayId), { timeout: 30_000 }).toEqual({ id: replayId, causationid: entry.id, replay: true });
      await expect.poll(() => backend.capture.flow(entry.correlationId).nodes.find((n) => n.id === replayId)?.replayed, { timeout: 30_000 }).toBe(true);
      // The echo handler of the same event type acks the replay without running.
      expect(received.find((r) => r.id === replayId)).toBeUndefined();
    });
  });
}
