import 'reflect-metadata';

import { EventHandler, EventType, type DeadLetter, type EventBus, type EventContext, eventBrand } from '@cloudbus/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { MqttPublishProperties } from './mqtt-binding.js';
import { escapeLevel } from './mqtt-topics.js';
import type { MqttTransport } from './mqtt-transport.js';
import { MqttFixture, mqttUrl } from './testing/mqtt-fixture.js';

class ProbeRead {

  declare readonly [eventBrand]: string;
  constructor(readonly celsius: number) {}
}

describe.skipIf(!mqttUrl)('mqtt transport: hostile input from the wire', () => {
  const fixture = new MqttFixture('cbhostile', { protocolVersion: 5, sessionExpirySeconds: 300, instanceId: 'hostile' });
  const { run, topics } = fixture;
  let sequence = 0;

  beforeAll(() => fixture.start());
  afterEach(() => fixture.reset());
  afterAll(() => fixture.cleanup());

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
    const bus = await fixture.startBus({ service, handlers: [Gauge] });
    return { bus, type, subscription: `${service}.Gauge`, Read };
  }

  const deadLetterOf = (bus: EventBus, match: (letter: DeadLetter) => boolean) => fixture.deadLetter(bus.transport as MqttTransport, match);

  async function rawPublish(topic: string, payload: string, properties?: MqttPublishProperties): Promise<void> {
    expect(await fixture.publishRaw(topic, payload, properties)).toBe(true);
  }

  it('reads a forged redelivery topic as a first delivery, notes it on the dead letter, and keeps consuming (finding 2)', async () => {
    const seen: number[] = [];
    const { bus, type, subscription, Read } = await startBus(seen);
    const eventTopic = topics.forType(type);
    const forged = `${topics.redeliverRoot}/${escapeLevel(subscription)}/1/9000000000000000/0/${eventTopic}`;
    await rawPublish(forged, 'not an event');
    await bus.publish(new Read(21));
    await fixture.waitFor(() => seen.includes(21), 'the valid event after the forged one');
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
