import 'reflect-metadata';

import { EventHandler, EventType, eventBrand, eventTypeOf, PermanentError, retry, type EventBus, type EventContext } from '@cloudbus/core';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { MqttTransport } from './mqtt-transport.js';
import { MqttFixture, mqttUrl } from './testing/mqtt-fixture.js';

class OvenPreheated {
  declare readonly [eventBrand]: string;
  constructor(
    readonly ovenId: string,
    readonly celsius: number,
  ) {}
}

interface Seen {
  readonly event: OvenPreheated;
  readonly context: EventContext;
}

describe.skipIf(!mqttUrl)('mqtt transport with MQTT 3.1.1 devices', () => {
  const fixture = new MqttFixture('cbv311', { sessionExpirySeconds: 300, instanceId: 'v311' });
  const { run } = fixture;
  let sequence = 0;

  beforeAll(() => fixture.start());
  afterEach(() => fixture.reset());
  afterAll(() => fixture.cleanup());

  function defineEvent(): typeof OvenPreheated {
    class Preheated extends OvenPreheated {}
    EventType(`dev.cloudbus.${run}.t${++sequence}.oven.preheated`, { subject: (e: Preheated) => e.ovenId })(Preheated);
    return Preheated;
  }

  async function startBus(
    protocolVersion: 4 | 5,
    eventClass: typeof OvenPreheated,
    seen: Seen[],
    behaviour: (context: EventContext) => void = () => undefined,
  ): Promise<EventBus> {
    class Display {
      handle(event: OvenPreheated, context: EventContext): void {
        seen.push({ event, context });
        behaviour(context);
      }
    }
    EventHandler(eventClass, { name: 'Display', retry: retry.fixed({ attempts: 2, delayMs: 50 }) })(Display);
    return fixture.startBus({ service: `${run}-svc${sequence}`, handlers: [Display] }, { protocolVersion });
  }

  it('a 3.1.1 client publishes and handles structured events, every attribute intact', async () => {
    const Preheated = defineEvent();
    const seen: Seen[] = [];
    const bus = await startBus(4, Preheated, seen);
    expect(bus.transport.capabilities.binaryMode).toBe(false);
    await bus.publish(new Preheated('oven-1', 250), { correlationId: 'corr-311', extensions: { store: 'rome-1' } });
    await fixture.waitFor(() => seen.length === 1, 'the event');
    const { event, context } = seen[0]!;
    expect(event).toEqual(new Preheated('oven-1', 250));
    expect(context.cloudEvent).toMatchObject({ subject: 'oven-1', correlationid: 'corr-311', store: 'rome-1', datacontenttype: 'application/json' });
    expect(context.attempt).toBe(1);
  });

  it('the payload on the wire is the structured JSON event, with no MQTT 5 properties', async () => {
    const Preheated = defineEvent();
    const seen: Seen[] = [];
    const bus = await startBus(4, Preheated, seen);
    const sniffer = await mqtt.connectAsync(fixture.url, { protocolVersion: 5, reconnectPeriod: 0 });
    try {
      const received = new Promise<mqtt.IPublishPacket>((resolve) => sniffer.on('message', (_topic, _payload, packet) => resolve(packet)));
      await sniffer.subscribeAsync(fixture.topics.forType(eventTypeName(Preheated)), { qos: 1 });
      await bus.publish(new Preheated('oven-2', 180));
      const packet = await received;
      expect(packet.properties?.userProperties).toBeUndefined();
      const json = JSON.parse(packet.payload.toString()) as Record<string, unknown>;
      expect(json).toMatchObject({ specversion: '1.0', type: eventTypeName(Preheated), subject: 'oven-2', data: { ovenId: 'oven-2', celsius: 180 } });
    } finally {
      await sniffer.endAsync();
    }
  });

  it('an MQTT 5 service handles what a 3.1.1 device publishes', async () => {
    const Preheated = defineEvent();
    const seen: Seen[] = [];
    await startBus(5, Preheated, seen);
    const bus = await fixture.startBus({ service: `${run}-device`, handlers: [] }, { protocolVersion: 4 });
    await bus.publish(new Preheated('oven-3', 200));
    await fixture.waitFor(() => seen.length === 1, 'the event');
    expect(seen[0]!.event).toEqual(new Preheated('oven-3', 200));
  });

  it('counts attempts across a redelivery, and dead-letters with a readable failure record on 3.1.1', async () => {
    const Preheated = defineEvent();
    const seen: Seen[] = [];
    const bus = await startBus(4, Preheated, seen, () => {
      throw new Error('thermostat offline');
    });
    await bus.publish(new Preheated('oven-4', 90), { correlationId: 'corr-dl-311' });
    await fixture.waitFor(() => seen.length === 2, 'two attempts');
    expect(seen.map((s) => s.context.attempt)).toEqual([1, 2]);
    expect(Object.keys(seen[1]!.context.cloudEvent).sort()).toEqual(Object.keys(seen[0]!.context.cloudEvent).sort());
    const found = await fixture.deadLetter(bus.transport as MqttTransport, (d) => d.cloudEvent?.subject === 'oven-4');
    expect(found?.record).toMatchObject({ reason: 'retries-exhausted', attempts: 2, error: { type: 'Error', message: 'thermostat offline' } });
    expect(found?.cloudEvent).toMatchObject({ correlationid: 'corr-dl-311', data: { ovenId: 'oven-4', celsius: 90 } });
    expect(found?.destination).toBe(fixture.destinationOf(eventTypeName(Preheated)));
  });

  it('dead-letters a non-CloudEvent payload from a 3.1.1 device, keeping its bytes', async () => {
    const Preheated = defineEvent();
    const seen: Seen[] = [];
    const bus = await startBus(4, Preheated, seen);
    const device = await mqtt.connectAsync(fixture.url, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await device.publishAsync(fixture.topics.forType(eventTypeName(Preheated)), 'TEMP=250C', { qos: 1 });
    } finally {
      await device.endAsync();
    }
    const found = await fixture.deadLetter(bus.transport as MqttTransport, (d) => d.record?.handler === `${run}-svc${sequence}.Display`);
    expect(found?.record?.reason).toBe('invalid');
    expect(Buffer.from(found!.message.body).toString()).toBe('TEMP=250C');
    expect(seen).toHaveLength(0);
  });

  it('PermanentError goes straight to the dead letters on 3.1.1 too', async () => {
    const Preheated = defineEvent();
    const seen: Seen[] = [];
    const bus = await startBus(4, Preheated, seen, () => {
      throw new PermanentError('no such oven');
    });
    await bus.publish(new Preheated('oven-9', 1));
    const found = await fixture.deadLetter(bus.transport as MqttTransport, (d) => d.cloudEvent?.subject === 'oven-9');
    expect(found?.record).toMatchObject({ reason: 'non-retryable', attempts: 1 });
    expect(seen).toHaveLength(1);
  });
});

function eventTypeName(eventClass: typeof OvenPreheated): string {
  return eventTypeOf(eventClass)!.type;
}
