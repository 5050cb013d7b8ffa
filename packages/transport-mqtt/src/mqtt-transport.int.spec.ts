import 'reflect-metadata';

import { deadLetterContract, fixtureHarness, transportContract, type ContractHarness } from '@cloudbus/core/testing/contract';
import { describe } from 'vitest';

import { MqttFixture, mqttUrl } from './testing/mqtt-fixture.js';

/**
 * The contract suite, unchanged, over MQTT 5 (binary mode, user properties) and over MQTT 3.1.1
 * (structured mode only: a 3.1.1 device puts nothing but the payload on the wire).
 */
for (const protocolVersion of [5, 4] as const) {
  const name = protocolVersion === 5 ? 'mqtt' : 'mqtt 3.1.1';

  describe.skipIf(!mqttUrl)(`${name} transport on Mosquitto`, () => {
    const harness = async (): Promise<ContractHarness> => {
      const fixture = new MqttFixture(`cbv${protocolVersion}`, { sessionExpirySeconds: 300, instanceId: `contract-v${protocolVersion}`, protocolVersion });
      await fixture.start();
      // Transports through the fixture's proxy, which cutNetwork cuts; forged bookkeeping on a redelivery topic.
      return fixtureHarness(fixture);
    };
    transportContract(name, harness);
    deadLetterContract(name, harness);
  });
}
