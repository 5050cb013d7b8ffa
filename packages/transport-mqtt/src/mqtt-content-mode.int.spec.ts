import 'reflect-metadata';

import { EventBus, EventType, STRUCTURED_CONTENT_TYPE, eventBrand, silentLogger, type ContentMode } from '@cloudbus/core';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import mqtt, { type IPublishPacket } from 'mqtt';
import { describe, expect, it } from 'vitest';

import { MqttTransport } from './mqtt-transport.js';

const url = brokerUrl('mqtt');

class OvenPreheated {

  declare readonly [eventBrand]: string;
  constructor(readonly oven: string) {}
}

/** What a device listening on the event's topic sees on the wire, with the bus's content mode left to the transport or named. */
describe.skipIf(!url)('mqtt transport content mode', () => {
  const prefix = uniqueName('cbmode');
  const type = `dev.cloudbus.${prefix.replace(/-/g, '')}.oven.preheated`;
  EventType(type)(OvenPreheated);

  async function published(contentMode: ContentMode | undefined): Promise<IPublishPacket> {
    const transport = new MqttTransport({ url: url!, topicPrefix: prefix });
    const device = await mqtt.connectAsync(url!, { protocolVersion: 5, clean: true, reconnectPeriod: 0 });
    try {
      const packet = new Promise<IPublishPacket>((resolve) => device.on('message', (_topic, _payload, received) => resolve(received)));
      await device.subscribeAsync(transport.topics.forType(type), { qos: 1 });
      const bus = new EventBus({ service: 'oven', transport, logger: silentLogger, ...(contentMode === undefined ? {} : { contentMode }) });
      await bus.start();
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
