export { createTestBus, type PublishedEvent, type TestBus, type TestBusOptions } from './test-bus.js';
export { transportContract, type ContractHarness } from './transport-contract.js';
export { recordingLogger, type LoggedLine, type RecordingLogger } from './recording-logger.js';
