import 'reflect-metadata';

import { decodeDeadLetter, EventBus, EventHandler, EventType, silentLogger, type DeadLetter, type EventContext, eventBrand } from '@cloudbus/core';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import mqtt from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { escapeLevel, MqttTopics } from './mqtt-topics.js';
import { MqttTransport } from './mqtt-transport.js';

const url = brokerUrl('mqtt');

class ProbeRead {

  declare readonly [eventBrand]: string;
  constructor(readonly celsius: number) {}
}

describe.skipIf(!url)('mqtt transport: hostile input from the wire', () => {
  const prefix = uniqueName('cbhostile');
  const run = prefix.replace(/-/g, '');
  const topics = new MqttTopics(prefix);
  const buses: EventBus[] = [];
  let sequence = 0;

  const transport = () => new MqttTransport({ url: url!, topicPrefix: prefix, protocolVersion: 5, sessionExpirySeconds: 300, instanceId: 'hostile' });

  async function startBus(seen: number[]): Promise<{ bus: EventBus; type: string; subscription: string; Read: typeof ProbeRead }> {
    class Read extends ProbeRead {}
    const type = `dev.cloudbus.${run}.t${++sequence}.probe.read`;
    EventType(type)(Read);
    class Gauge {
      handle(event: ProbeRead, _context: EventContext): void {
        seen.push(event.celsius);
      }
    }
    EventHandler(Read, { name: 'Gauge' })(Gauge);
    const service = `${run}-svc${sequence}`;
    const bus = new EventBus({ service, logger: silentLogger, transport: transport(), handlers: [Gauge] });
    buses.push(bus);
    await bus.start();
    return { bus, type, subscription: `${service}.Gauge`, Read };
  }

  async function waitFor(predicate: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function deadLetterOf(bus: EventBus, match: (letter: DeadLetter) => boolean): Promise<DeadLetter | undefined> {
    const reader = bus.transport as MqttTransport;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const found = (await reader.readDeadLetters()).map(decodeDeadLetter).find(match);
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return undefined;
  }

  async function rawPublish(topic: string, payload: string, properties?: mqtt.IClientPublishOptions['properties']): Promise<void> {
    const client = await mqtt.connectAsync(url!, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      await client.publishAsync(topic, payload, { qos: 1, ...(properties === undefined ? {} : { properties }) });
    } finally {
      await client.endAsync();
    }
  }

  afterEach(async () => {
    for (const bus of buses.splice(0)) if (bus.state === 'started') await bus.stop({ drainTimeoutMs: 500 });
  });

  afterAll(async () => {
    const cleaner = transport();
    await cleaner.connect();
    await cleaner.deleteDeadLetters();
    await cleaner.close();
  });

  it('reads a forged redelivery topic as a first delivery, notes it on the dead letter, and keeps consuming (finding 2)', async () => {
    const seen: number[] = [];
    const { bus, type, subscription, Read } = await startBus(seen);
    const eventTopic = topics.forType(type);
    const forged = `${topics.redeliverRoot}/${escapeLevel(subscription)}/1/9000000000000000/0/${eventTopic}`;
    await rawPublish(forged, 'not an event');
    await bus.publish(new Read(21));
    await waitFor(() => seen.includes(21), 'the valid event after the forged one');
    const letter = await deadLetterOf(bus, (d) => d.record?.handler === subscription);
    expect(letter?.record?.reason).toBe('invalid');
    expect(letter?.record?.ignored).toMatch(/^redelivery first-attempt level: /);
    expect(letter?.destination).toBe(forged);
  });

  it('dead-letters 10,000 extensions as over the receive limit, naming it (finding 5)', async () => {
    const seen: number[] = [];
    const { bus, type, subscription } = await startBus(seen);
    const userProperties: Record<string, string> = { specversion: '1.0', id: 'many', source: '/foreign', type };
    for (let i = 0; i < 10_000; i++) userProperties[`ext${i}`] = 'v';
    await rawPublish(topics.forType(type), JSON.stringify({ celsius: 1 }), { contentType: 'application/json', userProperties });
    const letter = await deadLetterOf(bus, (d) => d.record?.handler === subscription);
    expect(letter?.record).toMatchObject({ reason: 'invalid', limit: 'maxExtensions', error: { type: 'ReceiveLimitError' } });
    expect(seen).toEqual([]);
  });
});
