import { deadLetterContract, fixtureHarness, transportContract, type ContractHarness } from '@cloudbus/core/testing/contract';
import { describe } from 'vitest';

import { RabbitMqFixture, rabbitMqUrl } from './testing/rabbitmq-fixture.js';

describe.skipIf(!rabbitMqUrl)('rabbitmq transport', () => {
  for (const queueType of ['quorum', 'classic'] as const) {
    const harness = (): ContractHarness => {
      const fixture = new RabbitMqFixture(`cbc-${queueType}`, { queueType });
      return fixtureHarness(fixture, {
        // Through the fixture's proxy, which cutNetwork cuts. A publish timeout bounds the wait
        // for the broker to come back too (publishBufferTimeoutMs), as the contract expects.
        createTransport: (options) =>
          fixture.createTransport(options?.publishTimeoutMs === undefined ? {} : { publishTimeoutMs: options.publishTimeoutMs, publishBufferTimeoutMs: options.publishTimeoutMs }),
        timeoutMs: 20_000,
      });
    };
    transportContract(`rabbitmq (${queueType} queues)`, harness);
    deadLetterContract(`rabbitmq (${queueType} queues)`, harness);
  }
});
