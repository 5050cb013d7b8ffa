import 'reflect-metadata';

import { deadLetterContract, fixtureHarness, transportContract, type ContractHarness } from '@cloudbus/core/testing/contract';
import { describe } from 'vitest';

import { NatsFixture, natsUrl } from './testing/nats-fixture.js';

describe.skipIf(!natsUrl)('nats transport against the local server', () => {
  const harness = async (): Promise<ContractHarness> => {
    const fixture = new NatsFixture('contract', 'contract');
    await fixture.start();
    // Transports through the fixture's proxy, which cutNetwork cuts.
    return fixtureHarness(fixture);
  };
  transportContract('nats', harness);
  deadLetterContract('nats', harness);
});
