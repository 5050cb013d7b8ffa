import 'reflect-metadata';

import { deadLetterContract, transportContract, type ContractHarness } from '@cloudbus/core/testing/contract';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { describe } from 'vitest';

import { writeHeaders } from './nats-binding.js';
import { NatsTransport } from './nats-transport.js';
import { subjectForType } from './subject-naming.js';

const url = brokerUrl('nats');

describe.skipIf(!url)('nats transport against the local server', () => {
  const name = uniqueName('contract').replace(/[^A-Za-z0-9_-]/g, '_');
  const options = {
    url: url!,
    stream: `${name}_EVENTS`,
    deadLetterStream: `${name}_DLQ`,
    subjectPrefix: name,
  };

  const harness = (): ContractHarness => ({
    createTransport: () => new NatsTransport(options, 'contract'),
    destinationOf: (type) => subjectForType(options.subjectPrefix, type),
    injectRaw: async (type, message) => {
      const nc = await connect({ servers: url! });
      try {
        const headers = natsHeaders();
        writeHeaders(message, headers);
        const jsm = await jetstreamManager(nc);
        await jsm.jetstream().publish(subjectForType(options.subjectPrefix, type), message.body, { headers });
      } finally {
        await nc.close();
      }
    },
    cleanup: async () => {
      const nc = await connect({ servers: url! });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.delete(options.stream).catch(() => false);
        await jsm.streams.delete(options.deadLetterStream).catch(() => false);
      } finally {
        await nc.close();
      }
    },
  });
  transportContract('nats', harness);
  deadLetterContract('nats', harness);
});
