import type { Transport } from '../transport/transport.js';
import type { ContractHarness } from './transport-contract.js';

/**
 * A transport's test fixture as the contract suite can use it: the broker-specific hooks of a
 * {@link ContractHarness} under the same names, and a `createTransport` that takes the
 * transport's own options (of which the contract sets at most `publishTimeoutMs`).
 */
export type ContractFixture = Pick<ContractHarness, 'destinationOf' | 'injectRaw' | 'injectForged' | 'cutNetwork' | 'restoreNetwork' | 'cleanup'> & {
  createTransport(options: { readonly publishTimeoutMs?: number }): Transport | Promise<Transport>;
};

/**
 * The {@link ContractHarness} of a transport's test fixture: each hook the fixture has calls the
 * fixture's own, `createTransport` passes on the contract's `publishTimeoutMs`, and `overrides`
 * replace or add whatever differs (a `createTransport` mapping more options, `timeoutMs`, ...).
 *
 * @example
 * ```ts
 * transportContract('nats', async () => {
 *   const fixture = new NatsFixture('contract', 'contract');
 *   await fixture.start();
 *   return fixtureHarness(fixture);
 * });
 * ```
 */
export function fixtureHarness(fixture: ContractFixture, overrides: Partial<ContractHarness> = {}): ContractHarness {
  const harness: ContractHarness = {
    createTransport: (options) => fixture.createTransport(options?.publishTimeoutMs === undefined ? {} : { publishTimeoutMs: options.publishTimeoutMs }),
    destinationOf: (type) => fixture.destinationOf(type),
    injectRaw: (type, message) => fixture.injectRaw(type, message),
  };
  if (fixture.injectForged !== undefined) harness.injectForged = fixture.injectForged.bind(fixture);
  if (fixture.cutNetwork !== undefined) harness.cutNetwork = fixture.cutNetwork.bind(fixture);
  if (fixture.restoreNetwork !== undefined) harness.restoreNetwork = fixture.restoreNetwork.bind(fixture);
  if (fixture.cleanup !== undefined) harness.cleanup = fixture.cleanup.bind(fixture);
  return { ...harness, ...overrides };
}
