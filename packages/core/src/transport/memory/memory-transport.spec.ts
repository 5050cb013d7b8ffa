import { deadLetterContract } from '../../testing/dead-letter-contract.js';
import { transportContract, type ContractHarness } from '../../testing/transport-contract.js';
import { MemoryBroker } from './memory-broker.js';
import { MemoryTransport } from './memory-transport.js';

function memoryHarness(): ContractHarness {
  const broker = new MemoryBroker();
  return {
    createTransport: () => new MemoryTransport({ broker }),
    destinationOf: (type) => type,
    injectRaw: (type, message) => {
      broker.publish(type, message);
      return Promise.resolve();
    },
    cleanup: () => {
      broker.reset();
      return Promise.resolve();
    },
  };
}

// By default, handlers take the CloudEvent the bus built (no JSON round trip).
transportContract('memory', memoryHarness);
deadLetterContract('memory', memoryHarness);

// The same contract with every handler decoding its own copy, as createTestBus delivers.
transportContract('memory, isolated', () => {
  const broker = new MemoryBroker();
  return {
    createTransport: () => new MemoryTransport({ broker, isolate: true }),
    destinationOf: (type) => type,
    injectRaw: (type, message) => {
      broker.publish(type, message);
      return Promise.resolve();
    },
    cleanup: () => {
      broker.reset();
      return Promise.resolve();
    },
  };
});
