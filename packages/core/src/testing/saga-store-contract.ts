import { describe, expect, it } from 'vitest';

import { SagaConflictError } from '../errors.js';
import type { SagaRecord, SagaStore } from '../sagas/saga-store.js';

function record(key: string, version: number, state: unknown, overrides: Partial<SagaRecord> = {}): SagaRecord {
  return {
    saga: 'ContractSaga',
    key,
    id: `id-${key}`,
    version,
    stateVersion: 1,
    state,
    status: 'active',
    completedAt: null,
    timeouts: {},
    inbox: [],
    outgoing: null,
    updatedAt: new Date().toISOString(),
    ...overrides,
  };
}

/**
 * The contract every `SagaStore` passes: round trip, insert race, update race, purge of
 * completed instances. `create` gives a store with no records of saga `ContractSaga` for keys
 * the suite makes unique with `prefix`.
 */
export function sagaStoreContract(name: string, create: () => Promise<SagaStore> | SagaStore, prefix = `${Date.now()}-`): void {
  describe(`SagaStore contract: ${name}`, () => {
    it('reads back what it saved, JSON parts included', async () => {
      const store = await create();
      const saved = record(`${prefix}a`, 1, { orderId: 'o-1', items: ['margherita'] }, {
        timeouts: { 'com.example.due': { token: 't-1', dueAt: '2030-01-01T00:00:00.000Z' } },
        inbox: ['k-1'],
        outgoing: { inboxKey: 'k-1', events: [{ specversion: '1.0', id: 'e-1', source: '/s', type: 'com.example.x' }] },
      });
      await store.commit(saved, 0);
      expect(await store.get('ContractSaga', `${prefix}a`)).toEqual(saved);
      expect(await store.get('ContractSaga', `${prefix}missing`)).toBeUndefined();
    });

    it('lets one of two concurrent inserts of a key win; the other conflicts', async () => {
      const store = await create();
      const results = await Promise.allSettled([store.commit(record(`${prefix}b`, 1, { by: 'one' }), 0), store.commit(record(`${prefix}b`, 1, { by: 'two' }, { id: `id-${prefix}b-2` }), 0)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected');
      expect(rejected?.reason).toBeInstanceOf(SagaConflictError);
    });

    it('rejects an update from a stale version and keeps the newer state', async () => {
      const store = await create();
      await store.commit(record(`${prefix}c`, 1, { n: 1 }), 0);
      await store.commit(record(`${prefix}c`, 2, { n: 2 }), 1);
      await expect(store.commit(record(`${prefix}c`, 2, { n: 'stale' }), 1)).rejects.toBeInstanceOf(SagaConflictError);
      expect(await store.get('ContractSaga', `${prefix}c`)).toMatchObject({ version: 2, state: { n: 2 } });
    });

    it('purges completed instances older than the given time, and only those', async () => {
      const store = await create();
      await store.commit(record(`${prefix}d`, 1, {}, { status: 'completed', completedAt: '2020-01-01T00:00:00.000Z' }), 0);
      await store.commit(record(`${prefix}e`, 1, {}, { status: 'completed', completedAt: new Date().toISOString() }), 0);
      await store.commit(record(`${prefix}f`, 1, {}), 0);
      expect(await store.purgeCompleted('ContractSaga', new Date(Date.now() - 60_000))).toBeGreaterThanOrEqual(1);
      expect(await store.get('ContractSaga', `${prefix}d`)).toBeUndefined();
      expect(await store.get('ContractSaga', `${prefix}e`)).toBeDefined();
      expect(await store.get('ContractSaga', `${prefix}f`)).toBeDefined();
      expect((await store.list('ContractSaga')).map((r) => r.key)).toContain(`${prefix}f`);
    });
  });
}
