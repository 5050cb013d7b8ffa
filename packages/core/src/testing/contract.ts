/**
 * `@cloudbus/core/testing/contract`: the transport contract suite. It runs under vitest (it
 * declares `describe` / `it` blocks), so it lives apart from `@cloudbus/core/testing`, which loads
 * without vitest.
 */
export { transportContract, type ContractHarness } from './transport-contract.js';
