import { silentLogger, type WireMessage } from '@cloudbus/core';
import { deadLetterContract, transportContract, type ContractHarness, type ForgedBookkeeping } from '@cloudbus/core/testing/contract';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { describe } from 'vitest';

import { attributeHeaders, bodyBuffer, PrivateHeaders } from './rabbitmq-binding.js';
import { RabbitMqTransport } from './rabbitmq-transport.js';
import { routingKeyOf } from './routing-key.js';
import { BrokerAdmin, mergeTopologies } from './testing/broker-admin.js';

const url = brokerUrl('rabbitmq');

describe.skipIf(!url)('rabbitmq transport', () => {
  for (const queueType of ['quorum', 'classic'] as const) {
    const harness = (): ContractHarness => {
      const run = uniqueName(`cbc-${queueType}`);
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
        destinationOf: (type: string) => routingKeyOf(type),
        injectRaw: (type: string, message: WireMessage) =>
          admin.publish(options.exchange, routingKeyOf(type), bodyBuffer(message.body), {
            persistent: true,
            headers: attributeHeaders(message),
            ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
          }),
        // The x-cloudbus-* headers of a retry republish, forged; numbers where they parse as one, as the transport writes them.
        injectForged: (type: string, _subscription: string, message: WireMessage, forged: ForgedBookkeeping) => {
          const number = (value: string) => (value !== '' && Number.isFinite(Number(value)) ? Number(value) : value);
          return admin.publish(options.exchange, routingKeyOf(type), bodyBuffer(message.body), {
            persistent: true,
            headers: {
              ...attributeHeaders(message),
              [PrivateHeaders.attempt]: number(forged.attempt),
              [PrivateHeaders.firstAttempt]: number(forged.firstAttempt),
              [PrivateHeaders.destination]: forged.destination,
            },
            ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
          });
        },
        cleanup: async () => {
          await admin.delete(mergeTopologies(transports.map((transport) => transport.declaredTopology())));
          await admin.close();
        },
        timeoutMs: 20_000,
      };
    };
    transportContract(`rabbitmq (${queueType} queues)`, harness);
    deadLetterContract(`rabbitmq (${queueType} queues)`, harness);
  }
});
