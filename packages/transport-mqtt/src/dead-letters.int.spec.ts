import { deadLetterContract } from '@cloudbus/core/testing';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { describe } from 'vitest';

import { MqttTransport } from './mqtt-transport.js';

const url = brokerUrl('mqtt');

describe.skipIf(!url)('mqtt dead-letter management', () => {
  for (const protocolVersion of [5, 4] as const) {
    const prefix = uniqueName(`cbdl${protocolVersion}`);
    const transports: MqttTransport[] = [];
    deadLetterContract(protocolVersion === 5 ? 'mqtt' : 'mqtt 3.1.1', () => ({
      createTransport: () => {
        const transport = new MqttTransport({ url: url!, topicPrefix: prefix, sessionExpirySeconds: 60, instanceId: `dlm-v${protocolVersion}`, protocolVersion });
        transports.push(transport);
        return transport;
      },
      injectRaw: () => Promise.reject(new Error('not used')),
      cleanup: async () => {
        const cleaner = new MqttTransport({ url: url!, topicPrefix: prefix, sessionExpirySeconds: 60, instanceId: 'dlm-cleaner', protocolVersion });
        await cleaner.connect();
        await cleaner.deleteDeadLetters();
        await cleaner.close();
      },
    }));
  }
});
