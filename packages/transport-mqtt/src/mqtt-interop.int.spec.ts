import 'reflect-metadata';

import { EventHandler, EventType, STRUCTURED_CONTENT_TYPE, type CloudEvent, type ContentMode, type EventBus, type EventContext, eventBrand } from '@cloudbus/core';
import { CloudEvent as SdkCloudEvent, MQTT, MQTTMessageFactory } from 'cloudevents';
import mqtt, { type IPublishPacket } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { MqttPublishProperties } from './mqtt-binding.js';
import { MqttFixture, mqttUrl } from './testing/mqtt-fixture.js';

class SomeEvent {

  declare readonly [eventBrand]: string;
  constructor(readonly orderId: string) {}
}

/**
 * Interop with foreign producers and consumers, per the CloudEvents MQTT Protocol Binding 1.0:
 * messages made by the raw mqtt.js client exactly as the spec's examples show them, and by the
 * CloudEvents JS SDK (`cloudevents`, its MQTT binding) as a second foreign producer and consumer.
 */
describe.skipIf(!mqttUrl)('mqtt interop (CloudEvents MQTT binding, CloudEvents JS SDK)', () => {
  const fixture = new MqttFixture('cbinterop');
  const { run, topics } = fixture;
  let sequence = 0;

  beforeAll(() => fixture.start());
  afterEach(() => fixture.reset());
  afterAll(() => fixture.cleanup());

  function defineEvent(): { type: string; Event: typeof SomeEvent } {
    class Event extends SomeEvent {}
    const type = `com.example.${run}.t${++sequence}.someevent`;
    EventType(type)(Event);
    return { type, Event };
  }

  async function consumer(protocolVersion: 4 | 5, Event: typeof SomeEvent, seen: CloudEvent[]): Promise<EventBus> {
    class Recorder {
      handle(_event: SomeEvent, context: EventContext): void {
        seen.push(context.cloudEvent);
      }
    }
    EventHandler(Event, { name: 'Recorder' })(Recorder);
    return fixture.startBus({ service: `${run}-svc${sequence}`, handlers: [Recorder] }, { protocolVersion, sessionExpirySeconds: 300, instanceId: 'interop' });
  }

  async function publishRaw(protocolVersion: 4 | 5, topic: string, payload: string, properties?: MqttPublishProperties): Promise<void> {
    expect(await fixture.publishRaw(topic, payload, properties, protocolVersion)).toBe(true);
  }

  /** What a raw MQTT 5 client subscribed to the event's topic receives when a bus publishes in `contentMode`. */
  async function sniff(protocolVersion: 4 | 5, type: string, publish: (bus: EventBus) => Promise<void>, contentMode?: ContentMode): Promise<IPublishPacket> {
    const device = await mqtt.connectAsync(fixture.url, { protocolVersion: 5, clean: true, reconnectPeriod: 0 });
    try {
      const packet = new Promise<IPublishPacket>((resolve) => device.on('message', (_topic, _payload, received) => resolve(received)));
      await device.subscribeAsync(topics.forType(type), { qos: 1 });
      const bus = await fixture.startBus({ service: `${run}-producer`, ...(contentMode === undefined ? {} : { contentMode }) }, { protocolVersion });
      try {
        await publish(bus);
        return await packet;
      } finally {
        await bus.stop();
      }
    } finally {
      await device.endAsync();
    }
  }

  it('MQTT 5, binary mode, incoming: the spec example from a raw client, and the SDK MQTT.binary message', async () => {
    const { type, Event } = defineEvent();
    const seen: CloudEvent[] = [];
    await consumer(5, Event, seen);
    // Binding 3.2, binary content mode: datacontenttype as the Content Type property, the other attributes as user properties.
    await publishRaw(5, topics.forType(type), '{"orderId":"spec-binary"}', {
      contentType: 'application/json; charset=utf-8',
      userProperties: { specversion: '1.0', type, time: '2018-04-05T03:56:24Z', id: '1234-1234-1234', source: '/mycontext/subcontext' },
    });
    const sdk = MQTT.binary(new SdkCloudEvent({ id: 'sdk-binary', source: '/sdk', type, datacontenttype: 'application/json', subject: 'sdk', data: { orderId: 'sdk-binary' } }));
    await publishRaw(5, topics.forType(type), JSON.stringify(sdk.payload), {
      contentType: sdk.PUBLISH!['Content Type']!,
      // The SDK leaves unset attributes as undefined entries, which an MQTT client cannot send: a producer drops them.
      userProperties: Object.fromEntries(Object.entries(sdk['User Properties']!).filter(([, value]) => value !== undefined).map(([name, value]) => [name, String(value)])),
    });
    await fixture.waitFor(() => seen.length >= 2, 'both events');
    const byId = new Map(seen.map((event) => [event.id, event]));
    expect(byId.get('1234-1234-1234')).toMatchObject({ source: '/mycontext/subcontext', time: '2018-04-05T03:56:24Z', datacontenttype: 'application/json; charset=utf-8', data: { orderId: 'spec-binary' } });
    expect(byId.get('sdk-binary')).toMatchObject({ source: '/sdk', subject: 'sdk', datacontenttype: 'application/json', data: { orderId: 'sdk-binary' } });
  });

  it('MQTT 5, structured mode, incoming: the spec example from a raw client, and the SDK MQTT.structured message', async () => {
    const { type, Event } = defineEvent();
    const seen: CloudEvent[] = [];
    await consumer(5, Event, seen);
    // Binding 3.1, structured content mode: Content Type application/cloudevents+json, the event as JSON payload.
    const spec = { specversion: '1.0', type, time: '2018-04-05T03:56:24Z', id: 'spec-structured', source: '/mycontext/subcontext', datacontenttype: 'application/json', data: { orderId: 'spec-structured' } };
    await publishRaw(5, topics.forType(type), JSON.stringify(spec), { contentType: 'application/cloudevents+json; charset=utf-8' });
    const sdk = MQTT.structured(new SdkCloudEvent({ id: 'sdk-structured', source: '/sdk', type, datacontenttype: 'application/json', data: { orderId: 'sdk-structured' } }));
    await publishRaw(5, topics.forType(type), JSON.stringify(sdk.payload), { contentType: sdk.PUBLISH!['Content Type']! });
    await fixture.waitFor(() => seen.length >= 2, 'both events');
    const byId = new Map(seen.map((event) => [event.id, event]));
    expect(byId.get('spec-structured')).toMatchObject({ source: '/mycontext/subcontext', time: '2018-04-05T03:56:24Z', data: { orderId: 'spec-structured' } });
    expect(byId.get('sdk-structured')).toMatchObject({ source: '/sdk', datacontenttype: 'application/json', data: { orderId: 'sdk-structured' } });
  });

  it('MQTT 3.1.1, structured mode, incoming: the JSON event as the only payload, from a raw client and from the SDK', async () => {
    const { type, Event } = defineEvent();
    const seen: CloudEvent[] = [];
    await consumer(4, Event, seen);
    await publishRaw(4, topics.forType(type), JSON.stringify({ specversion: '1.0', type, id: 'spec-311', source: '/device', datacontenttype: 'application/json', data: { orderId: 'spec-311' } }));
    const sdk = MQTT.structured(new SdkCloudEvent({ id: 'sdk-311', source: '/sdk', type, datacontenttype: 'application/json', data: { orderId: 'sdk-311' } }));
    await publishRaw(4, topics.forType(type), JSON.stringify(sdk.payload));
    await fixture.waitFor(() => seen.length >= 2, 'both events');
    expect(new Map(seen.map((event) => [event.id, event.data])).get('spec-311')).toEqual({ orderId: 'spec-311' });
    expect(new Map(seen.map((event) => [event.id, event.data])).get('sdk-311')).toEqual({ orderId: 'sdk-311' });
  });

  it('MQTT 5, outgoing in both modes, and MQTT 3.1.1 outgoing: the SDK reads every attribute back', async () => {
    const { type, Event } = defineEvent();
    const publish = (id: string) => (bus: EventBus) => bus.publish(new Event(id), { extensions: { tenant: 'marios' } });
    const binary = await sniff(5, type, publish('out-binary'), 'binary');
    expect(binary.properties?.contentType).toBe('application/json');
    expect(binary.properties?.userProperties).toMatchObject({ specversion: '1.0', type, source: `/${run}-producer`, tenant: 'marios' });
    const fromBinary = MQTT.toEvent(
      MQTTMessageFactory(binary.properties!.contentType!, binary.properties!.userProperties as Record<string, string>, JSON.parse(binary.payload.toString()) as unknown),
    ) as SdkCloudEvent;
    expect(fromBinary.validate()).toBe(true);
    expect(fromBinary).toMatchObject({ type, source: `/${run}-producer`, tenant: 'marios', data: { orderId: 'out-binary' } });

    const structured = await sniff(5, type, publish('out-structured'), 'structured');
    expect(structured.properties?.contentType).toBe(STRUCTURED_CONTENT_TYPE);
    const fromStructured = MQTT.toEvent(MQTTMessageFactory(structured.properties!.contentType!, {}, structured.payload.toString())) as SdkCloudEvent;
    expect(fromStructured.validate()).toBe(true);
    expect(fromStructured).toMatchObject({ type, tenant: 'marios', datacontenttype: 'application/json', data: { orderId: 'out-structured' } });

    // 3.1.1 carries no Content Type: the binding says the payload is a structured JSON event.
    const v311 = await sniff(4, type, publish('out-311'));
    expect(v311.properties?.contentType).toBeUndefined();
    const from311 = MQTT.toEvent(MQTTMessageFactory('application/cloudevents+json', {}, v311.payload.toString())) as SdkCloudEvent;
    expect(from311.validate()).toBe(true);
    expect(from311).toMatchObject({ type, tenant: 'marios', data: { orderId: 'out-311' } });
  });
});
