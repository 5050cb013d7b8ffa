import 'reflect-metadata';

import { deadLetterContract, transportContract, type ContractHarness } from '@cloudbus/core/testing/contract';
import { describe } from 'vitest';

import { NatsFixture, natsUrl } from './testing/nats-fixture.js';

describe.skipIf(!natsUrl)('nats transport against the local server', () => {
  const harness = async (): Promise<ContractHarness> => {
    const fixture = new NatsFixture('contract', 'contract');
    await fixture.start();
    return {
      // Through the fixture's proxy, which cutNetwork cuts.
      createTransport: (options) => fixture.createTransport(options?.publishTimeoutMs === undefined ? {} : { publishTimeoutMs: options.publishTimeoutMs }),
      destinationOf: (type) => fixture.destinationOf(type),
      injectRaw: (type, message) => fixture.injectRaw(type, message),
      cutNetwork: () => fixture.cutNetwork(),
      restoreNetwork: () => fixture.restoreNetwork(),
      cleanup: () => fixture.cleanup(),
    };
  };
  transportContract('nats', harness);
  deadLetterContract('nats', harness);
});
