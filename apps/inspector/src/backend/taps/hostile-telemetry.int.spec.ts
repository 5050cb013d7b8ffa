import { encodeCloudEvent, SPEC_VERSION, TELEMETRY_EVENT_TYPE, type CloudEvent } from '@cloudbus/core';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { toMqttProperties } from '@cloudbus/transport-mqtt/wire';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';

import type { TickMessage } from '../../shared/channel-contract.js';
import { InspectorBackend } from '../inspector-backend.js';
import { topicOf } from './mqtt-mapping.js';

const url = brokerUrl('mqtt');

describe.skipIf(!url)('the inspector tapping MQTT, facing a retained hostile telemetry batch', () => {
  it('keeps running when the batch (numeric handler, absurd time) arrives at every start, and counts the valid records', async () => {
    const prefix = uniqueName('hostile').replace(/[^A-Za-z0-9_-]/g, '_');
    const event: CloudEvent = {
      specversion: SPEC_VERSION,
      id: `t-${prefix}`,
      source: '/attacker',
      type: TELEMETRY_EVENT_TYPE,
      datacontenttype: 'application/json',
      data: {
        service: 'shop',
        records: [
          { kind: 'handler-failed', time: 1e300, service: 'shop', handler: 42 },
          { kind: 'dead-lettered', time: Date.now(), service: 'shop', handler: { toString: 1 } },
          { kind: 'handler-succeeded', time: Date.now(), service: 'shop', handler: 'shop.Kitchen' },
        ],
      },
    };
    const message = encodeCloudEvent(event, 'binary');
    const topic = topicOf(prefix, TELEMETRY_EVENT_TYPE);
    const publisher = await mqtt.connectAsync(url!, { protocolVersion: 5 });
    try {
      await publisher.publishAsync(topic, Buffer.from(message.body), { qos: 1, retain: true, properties: toMqttProperties(message)! });
      // Two starts in a row: the retained batch is read at each.
      for (let start = 0; start < 2; start++) {
        const backend = new InspectorBackend({ profiles: [{ id: 'm', name: 'm', broker: 'mqtt', url: url!, topicPrefix: prefix }], tickMs: 10 });
        const ticks: TickMessage[] = [];
        backend.onTick((tick) => ticks.push(tick));
        backend.start();
        try {
          expect((await backend.open('m')).state).toBe('open');
          await expect.poll(() => ticks.at(-1)?.rates.handlers.map((h) => h.handler), { timeout: 10_000 }).toEqual(['shop.Kitchen']);
          expect(backend.errors).toBe(0);
        } finally {
          await backend.close();
        }
      }
    } finally {
      // Clear the retained message.
      await publisher.publishAsync(topic, Buffer.alloc(0), { qos: 1, retain: true });
      await publisher.endAsync();
    }
  });
});
