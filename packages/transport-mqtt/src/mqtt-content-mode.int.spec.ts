import 'reflect-metadata';

import { EventType, STRUCTURED_CONTENT_TYPE, eventBrand, type ContentMode } from '@cloudbus/core';
import mqtt, { type IPublishPacket } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { MqttFixture, mqttUrl } from './testing/mqtt-fixture.js';

class OvenPreheated {

  declare readonly [eventBrand]: string;
  constructor(readonly oven: string) {}
}

/** What a device listening on the event's topic sees on the wire, with the bus's content mode left to the transport or named. */
describe.skipIf(!mqttUrl)('mqtt transport content mode', () => {
  const fixture = new MqttFixture('cbmode');
  const type = `dev.cloudbus.${fixture.run}.oven.preheated`;
  EventType(type)(OvenPreheated);

  beforeAll(() => fixture.start());
  afterEach(() => fixture.reset());
  afterAll(() => fixture.cleanup());

  async function published(contentMode: ContentMode | undefined): Promise<IPublishPacket> {
    const device = await mqtt.connectAsync(fixture.url, { protocolVersion: 5, clean: true, reconnectPeriod: 0 });
    try {
      const packet = new Promise<IPublishPacket>((resolve) => device.on('message', (_topic, _payload, received) => resolve(received)));
      await device.subscribeAsync(fixture.topics.forType(type), { qos: 1 });
      const bus = await fixture.startBus({ service: 'oven', ...(contentMode === undefined ? {} : { contentMode }) });
      try {
        await bus.publish(new OvenPreheated('oven-1'));
        return await packet;
      } finally {
        await bus.stop();
      }
    } finally {
      await device.endAsync();
    }
  }

  it('publishes in structured mode by default: one JSON event, Content Type application/cloudevents+json, no user properties', async () => {
    const packet = await published(undefined);
    expect(packet.properties?.contentType).toBe(STRUCTURED_CONTENT_TYPE);
    expect(packet.properties?.userProperties).toBeUndefined();
    expect(JSON.parse(packet.payload.toString())).toMatchObject({ specversion: '1.0', type, data: { oven: 'oven-1' } });
  });

  it('publishes in binary mode when the bus asks for it: attributes as user properties, the data as payload', async () => {
    const packet = await published('binary');
    expect(packet.properties?.userProperties).toMatchObject({ specversion: '1.0', type });
    expect(JSON.parse(packet.payload.toString())).toEqual({ oven: 'oven-1' });
  });
});
