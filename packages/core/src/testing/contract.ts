/**
 * `@cloudbus/core/testing/contract`: the transport contract suite. It runs under vitest (it
 * declares `describe` / `it` blocks), so it lives apart from `@cloudbus/core/testing`, which loads
 * without vitest.
 */
export { transportContract, type ContractHarness } from './transport-contract.js';
export { fixtureHarness, type ContractFixture } from './fixture-harness.js';
export { transportScenarios } from './transport-scenarios.js';
export { eventually, Recorder, sleep } from './waiting.js';
export { deadLetterContract } from './dead-letter-contract.js';
export { sagaStoreContract } from './saga-store-contract.js';
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
