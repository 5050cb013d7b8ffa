import 'reflect-metadata';

import { Buffer } from 'node:buffer';

import { transportContract } from '@cloudbus/core/testing/contract';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import mqtt from 'mqtt';
import { afterAll, describe, expect } from 'vitest';

import { MqttTopics } from './mqtt-topics.js';
import { MqttTransport } from './mqtt-transport.js';

const url = brokerUrl('mqtt');

/**
 * The contract suite, unchanged, over MQTT 5 (binary mode, user properties) and over MQTT 3.1.1
 * (structured mode only: a 3.1.1 device puts nothing but the payload on the wire).
 */
for (const protocolVersion of [5, 4] as const) {
  const name = protocolVersion === 5 ? 'mqtt' : 'mqtt 3.1.1';

  describe.skipIf(!url)(`${name} transport on Mosquitto`, () => {
    const prefix = uniqueName(`cbv${protocolVersion}`);
    const topics = new MqttTopics(prefix);
    const create = () =>
      new MqttTransport({ url: url!, topicPrefix: prefix, sessionExpirySeconds: 300, instanceId: `contract-v${protocolVersion}`, protocolVersion });

    afterAll(async () => {
      const transport = create();
      await transport.connect();
      await transport.deleteDeadLetters();
      expect(await transport.readDeadLetters()).toHaveLength(0);
      await transport.close();
    });

    transportContract(name, () => ({
      createTransport: () => create(),
      injectRaw: async (type, message) => {
        const client = await mqtt.connectAsync(url!, { protocolVersion, reconnectPeriod: 0 });
        try {
          const properties: Record<string, unknown> = {};
          if (protocolVersion === 5) {
            if (Object.keys(message.headers).length > 0) properties['userProperties'] = message.headers;
            if (message.contentType !== undefined) properties['contentType'] = message.contentType;
          }
          await client.publishAsync(topics.forType(type), Buffer.from(message.body), { qos: 1, properties });
        } finally {
          await client.endAsync();
        }
      },
    }));
  });
}
