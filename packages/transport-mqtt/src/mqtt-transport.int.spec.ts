import 'reflect-metadata';

import { Buffer } from 'node:buffer';

import type { WireMessage } from '@cloudbus/core';
import { deadLetterContract, transportContract, type ContractHarness } from '@cloudbus/core/testing/contract';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import mqtt from 'mqtt';
import { afterAll, describe, expect } from 'vitest';

import { escapeLevel, MqttTopics } from './mqtt-topics.js';
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

    /** Publishes as a foreign client; false when the client library or the broker refuses it (Mosquitto closes the connection on a malformed packet). */
    async function publishRaw(topic: string, message: WireMessage): Promise<boolean> {
      const client = await mqtt.connectAsync(url!, { protocolVersion, reconnectPeriod: 0 });
      client.on('error', () => {});
      try {
        const properties: Record<string, unknown> = {};
        if (protocolVersion === 5) {
          if (Object.keys(message.headers).length > 0) properties['userProperties'] = message.headers;
          if (message.contentType !== undefined) properties['contentType'] = message.contentType;
        }
        const closed = new Promise<boolean>((resolve) => client.once('close', () => resolve(false)));
        return await Promise.race([client.publishAsync(topic, Buffer.from(message.body), { qos: 1, properties }).then(() => true), closed]);
      } finally {
        await client.endAsync(true);
      }
    }

    afterAll(async () => {
      const transport = create();
      await transport.connect();
      await transport.deleteDeadLetters();
      expect(await transport.readDeadLetters()).toHaveLength(0);
      await transport.close();
    });

    const harness = (): ContractHarness => ({
      createTransport: () => create(),
      destinationOf: (type) => topics.forType(type),
      injectRaw: (type, message) => publishRaw(topics.forType(type), message),
      // A redelivery topic with random levels, as anyone allowed to publish on the broker could send it.
      injectForged: (type, subscription, message, forged) =>
        publishRaw(`${topics.redeliverRoot}/${escapeLevel(subscription)}/${forged.attempt}/${forged.firstAttempt}/${forged.notBefore}/${forged.destination || topics.forType(type)}`, message),
    });
    transportContract(name, harness);
    deadLetterContract(name, harness);
  });
}
