export { createTestBus, type PublishedEvent, type TestBus, type TestBusOptions } from './test-bus.js';
export { transportContract, type ContractHarness } from './transport-contract.js';
export { recordingLogger, type LoggedLine, type RecordingLogger } from './recording-logger.js';
export {
  FUZZ_RUNS_VARIABLE,
  FUZZ_SEED_VARIABLE,
  fuzzRuns,
  fuzzSeed,
  wireFuzz,
  type ForgedBookkeeping,
  type FuzzHarness,
  type WireFuzzOptions,
  type WireFuzzReport,
} from './wire-fuzz.js';
export { deadLetterContract } from './dead-letter-contract.js';
