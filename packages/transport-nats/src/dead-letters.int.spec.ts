import { deadLetterContract } from '@cloudbus/core/testing';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe } from 'vitest';

import { NatsTransport } from './nats-transport.js';

const url = brokerUrl('nats');

describe.skipIf(!url)('nats dead-letter management', () => {
  const name = uniqueName('dlm').replace(/[^A-Za-z0-9_-]/g, '_');
  const options = { url: url!, stream: `${name}_EVENTS`, deadLetterStream: `${name}_DLQ`, subjectPrefix: name };

  deadLetterContract('nats', () => ({
    createTransport: () => new NatsTransport(options, 'dlm'),
    injectRaw: () => Promise.reject(new Error('not used')),
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
  }));
});
