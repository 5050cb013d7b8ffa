import 'reflect-metadata';

import { Buffer } from 'node:buffer';

import { transportContract } from '@cloudbus/core/testing';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import mqtt from 'mqtt';
import { afterAll, describe, expect } from 'vitest';

import { MqttTopics } from './mqtt-topics.js';
import { MqttTransport } from './mqtt-transport.js';

const url = brokerUrl('mqtt');

describe.skipIf(!url)('mqtt transport on Mosquitto', () => {
  const prefix = uniqueName('cbtest');
  const topics = new MqttTopics(prefix);
  const create = (options: { protocolVersion?: 4 | 5; instanceId?: string } = {}) =>
    new MqttTransport({ url: url!, topicPrefix: prefix, sessionExpirySeconds: 300, instanceId: 'contract', ...options });

  afterAll(async () => {
    const transport = create();
    await transport.connect();
    await transport.deleteDeadLetters();
    expect(await transport.readDeadLetters()).toHaveLength(0);
    await transport.close();
  });

  transportContract('mqtt', () => ({
    createTransport: () => create(),
    injectRaw: async (type, message) => {
      const client = await mqtt.connectAsync(url!, { protocolVersion: 5, reconnectPeriod: 0 });
      try {
        const properties: Record<string, unknown> = {};
        if (Object.keys(message.headers).length > 0) properties['userProperties'] = message.headers;
        if (message.contentType !== undefined) properties['contentType'] = message.contentType;
        await client.publishAsync(topics.forType(type), Buffer.from(message.body), { qos: 1, properties });
      } finally {
        await client.endAsync();
      }
    },
  }));
});
