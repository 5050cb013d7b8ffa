import { transportContract } from '../../testing/transport-contract.js';
import { MemoryBroker } from './memory-broker.js';
import { MemoryTransport } from './memory-transport.js';

transportContract('memory', () => {
  const broker = new MemoryBroker();
  return {
    createTransport: () => new MemoryTransport({ broker }),
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
