import { silentLogger } from '@cloudbus/core';
import { deadLetterContract } from '@cloudbus/core/testing';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { describe } from 'vitest';

import { RabbitMqTransport } from './rabbitmq-transport.js';
import { BrokerAdmin, mergeTopologies } from './testing/broker-admin.js';

const url = brokerUrl('rabbitmq');

describe.skipIf(!url)('rabbitmq dead-letter management', () => {
  for (const queueType of ['quorum', 'classic'] as const) {
    deadLetterContract(`rabbitmq (${queueType} queues)`, () => {
      const run = uniqueName(`cbd-${queueType}`);
      const admin = new BrokerAdmin(url!);
      const transports: RabbitMqTransport[] = [];
      const options = {
        url: url!,
        queueType,
        exchange: `${run}.events`,
        deadLetterQueue: `${run}.deadletter`,
        retryPrefix: `${run}.retry`,
        queuePrefix: `${run}.`,
        logger: silentLogger,
      };
      return {
        createTransport: () => {
          const transport = new RabbitMqTransport(options);
          transports.push(transport);
          return transport;
        },
        injectRaw: () => Promise.reject(new Error('not used')),
        cleanup: async () => {
          await admin.delete(mergeTopologies(transports.map((transport) => transport.declaredTopology())));
          await admin.close();
        },
        timeoutMs: 20_000,
      };
    });
  }
});
