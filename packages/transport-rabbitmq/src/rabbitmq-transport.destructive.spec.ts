import { fileURLToPath } from 'node:url';

import { silentLogger } from '@cloudbus/core';
import { transportScenarios } from '@cloudbus/core/testing/contract';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { describe } from 'vitest';

import { RabbitMqTransport } from './rabbitmq-transport.js';
import { routingKeyOf } from './routing-key.js';
import { BrokerAdmin, mergeTopologies } from './testing/broker-admin.js';
import { brokerControl } from './testing/broker-control.js';

const url = brokerUrl('rabbitmq');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!url)('rabbitmq transport when things break', () => {
  const run = uniqueName('cbd');
  const transports: RabbitMqTransport[] = [];
  const options = {
    url: url!,
    exchange: `${run}.events`,
    deadLetterQueue: `${run}.deadletter`,
    retryPrefix: `${run}.retry`,
    queuePrefix: `${run}.`,
  };

  transportScenarios('rabbitmq', () => ({
    createTransport: () => {
      const created = new RabbitMqTransport({ ...options, logger: silentLogger, reconnectMinDelayMs: 200, reconnectMaxDelayMs: 1_000, publishBufferTimeoutMs: 120_000 });
      transports.push(created);
      return created;
    },
    destinationOf: routingKeyOf,
    injectRaw: () => Promise.reject(new Error('not used by the scenarios')),
    restartBroker: async (downMs) => {
      try {
        await brokerControl.stopApp();
        await sleep(downMs);
      } finally {
        await brokerControl.ensureRunning();
      }
    },
    consumerProcess: { module: fileURLToPath(new URL('../dist/index.js', import.meta.url)), transport: 'rabbitmq', url: url!, options: { ...options, url: undefined } },
    cleanup: async () => {
      await brokerControl.ensureRunning();
      const admin = new BrokerAdmin(url!);
      // The consumer process declared the same names: everything under this run goes.
      await admin.delete(mergeTopologies(transports.map((created) => created.declaredTopology())));
      await admin.close();
    },
    timeoutMs: 20_000,
  }));
});
