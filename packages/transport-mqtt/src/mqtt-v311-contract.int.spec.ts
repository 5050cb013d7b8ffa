import 'reflect-metadata';

import { Buffer } from 'node:buffer';

import { transportContract } from '@cloudbus/core/testing';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import mqtt from 'mqtt';
import { afterAll, describe, expect } from 'vitest';

import { MqttTopics } from './mqtt-topics.js';
import { MqttTransport } from './mqtt-transport.js';

const url = brokerUrl('mqtt');

/** The contract suite, unchanged, over MQTT 3.1.1: structured mode only, no properties on the wire. */
describe.skipIf(!url)('mqtt 3.1.1 transport on Mosquitto', () => {
  const prefix = uniqueName('cbv311');
  const topics = new MqttTopics(prefix);
  const create = () =>
    new MqttTransport({ url: url!, topicPrefix: prefix, sessionExpirySeconds: 300, instanceId: 'contract-v311', protocolVersion: 4 });

  afterAll(async () => {
    const transport = create();
    await transport.connect();
    await transport.deleteDeadLetters();
    expect(await transport.readDeadLetters()).toHaveLength(0);
    await transport.close();
  });

  transportContract('mqtt 3.1.1', () => ({
    createTransport: () => create(),
    // A 3.1.1 device has no properties: only the payload reaches the broker.
    injectRaw: async (type, message) => {
      const client = await mqtt.connectAsync(url!, { protocolVersion: 4, reconnectPeriod: 0 });
      try {
        await client.publishAsync(topics.forType(type), Buffer.from(message.body), { qos: 1 });
      } finally {
        await client.endAsync();
      }
    },
  }));
});
