import { Buffer } from 'node:buffer';

import { decodeCloudEvent } from '@cloudbus/core';
import type { IPublishPacket } from 'mqtt';
import { describe, expect, it } from 'vitest';

import { tappedFromMqtt, topicOf } from './mqtt-mapping.js';

describe('reading MQTT messages', () => {
  it('reads an MQTT 3.1.1 message (no properties) as a structured-mode CloudEvent', () => {
    const payload = Buffer.from(JSON.stringify({ specversion: '1.0', id: 'e-1', source: '/oven', type: 'com.example.oven.ready', data: { n: 1 } }));
    const packet = { cmd: 'publish', qos: 1, retain: false, dup: false, topic: 'cloudbus/com/example/oven/ready', payload } as IPublishPacket;
    const tapped = tappedFromMqtt(packet.topic, payload, packet, 'cloudbus');
    expect(decodeCloudEvent(tapped.message)).toMatchObject({ id: 'e-1', type: 'com.example.oven.ready', data: { n: 1 } });
  });

  it('reads MQTT 5 user properties as attributes and spots dead letters by topic', () => {
    const payload = Buffer.from('{"n":1}');
    const packet = {
      cmd: 'publish', qos: 1, retain: true, dup: false, topic: 'cloudbus-deadletter/s.H/0001-e-2', payload,
      properties: { contentType: 'application/json', userProperties: { specversion: '1.0', id: 'e-2', source: '/s', type: 'com.example.t', deadletterreason: 'non-retryable' } },
    } as IPublishPacket;
    const tapped = tappedFromMqtt(packet.topic, payload, packet, 'cloudbus');
    expect(tapped.deadLetter).toBe(true);
    expect(decodeCloudEvent(tapped.message)).toMatchObject({ id: 'e-2', deadletterreason: 'non-retryable', data: { n: 1 } });
    expect(topicOf('cloudbus', 'com.example.a+b')).toBe('cloudbus/com/example/a%2Bb');
  });
});
