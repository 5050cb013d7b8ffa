import { deadLetterContract } from '../../testing/dead-letter-contract.js';
import { transportContract, type ContractHarness } from '../../testing/transport-contract.js';
import { MemoryBroker } from './memory-broker.js';
import { MemoryTransport } from './memory-transport.js';

function memoryHarness(isolate: boolean): ContractHarness {
  const broker = new MemoryBroker();
  return {
    createTransport: () => new MemoryTransport({ broker, isolate }),
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
transportContract('memory', () => memoryHarness(false));
deadLetterContract('memory', () => memoryHarness(false));

// The same contract with every handler decoding its own copy, as createTestBus delivers.
transportContract('memory, isolated', () => memoryHarness(true));
