import 'reflect-metadata';

import { fileURLToPath } from 'node:url';

import { transportScenarios } from '@cloudbus/core/testing/contract';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe } from 'vitest';

import { NatsTransport } from './nats-transport.js';
import type { NatsTransportOptions } from './nats-transport-options.js';
import { subjectForType } from './subject-naming.js';
import { canControlNatsServer, ensureNatsServer, restartNatsServer } from './testing/nats-server-control.js';

const url = brokerUrl('nats');
const local = url !== undefined && /127\.0\.0\.1:4222|localhost:4222/.test(url) && canControlNatsServer();

describe.skipIf(!local)('nats transport when things break', () => {
  const name = uniqueName('natsdestr').replace(/[^A-Za-z0-9_-]/g, '_');
  const options: NatsTransportOptions = {
    url: url!,
    stream: `${name}_EVENTS`,
    deadLetterStream: `${name}_DLQ`,
    subjectPrefix: name,
    ackWaitMs: 5_000,
    reconnectTimeWaitMs: 250,
    requestTimeoutMs: 3_000,
  };

  transportScenarios('nats', () => ({
    createTransport: () => new NatsTransport(options, 'scenario'),
    destinationOf: (type) => subjectForType(name, type),
    injectRaw: () => Promise.reject(new Error('not used by the scenarios')),
    restartBroker: restartNatsServer,
    consumerProcess: { module: fileURLToPath(new URL('../dist/index.js', import.meta.url)), transport: 'nats', url: url!, options: { ...options, url: undefined } },
    cleanup: async () => {
      // Whatever happened, leave the server running, and remove what the run created.
      await ensureNatsServer();
      const nc = await connect({ servers: url! });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.delete(options.stream!).catch(() => false);
        await jsm.streams.delete(options.deadLetterStream!).catch(() => false);
      } finally {
        await nc.close();
      }
    },
  }));
});
