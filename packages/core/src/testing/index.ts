export { createTestBus, type PublishedEvent, type TestBus, type TestBusOptions } from './test-bus.js';
export { transportContract, type ContractHarness } from './transport-contract.js';
export { deadLetterContract } from './dead-letter-contract.js';
