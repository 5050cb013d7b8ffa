import { SagaConflictError } from '../errors.js';
import { systemClock, type Clock } from '../scheduling/clock.js';
import type { SagaRecord, SagaStore } from './saga-store.js';

/**
 * Saga state in this process, with the same optimistic concurrency as the durable stores: for
 * tests and the zero-setup default. Lost on restart. Records are copied in and out, so a
 * handler's changes count only once committed.
 */
export class MemorySagaStore implements SagaStore {
  readonly #records = new Map<string, SagaRecord>();

  /** @param clock purges compare completion times against it. @default the system clock */
  constructor(private readonly clock: Clock = systemClock) {}

  get(saga: string, key: string): Promise<SagaRecord | undefined> {
    const record = this.#records.get(idOf(saga, key));
    return Promise.resolve(record === undefined ? undefined : structuredClone(record));
  }

  commit(record: SagaRecord, expectedVersion: number): Promise<void> {
    const id = idOf(record.saga, record.key);
    const stored = this.#records.get(id);
    if ((stored?.version ?? 0) !== expectedVersion || record.version !== expectedVersion + 1) {
      return Promise.reject(new SagaConflictError(record.saga, record.key, expectedVersion));
    }
    try {
      this.#records.set(id, structuredClone(record));
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return Promise.resolve();
  }

  purgeCompleted(saga: string, before: Date = new Date(this.clock.now())): Promise<number> {
    let purged = 0;
    for (const [id, record] of this.#records) {
      if (record.saga === saga && record.status === 'completed' && record.completedAt !== null && Date.parse(record.completedAt) < before.getTime()) {
        this.#records.delete(id);
        purged++;
      }
    }
    return Promise.resolve(purged);
  }

  list(saga: string, limit = 1_000): Promise<SagaRecord[]> {
    const found: SagaRecord[] = [];
    for (const record of this.#records.values()) {
      if (found.length >= limit) break;
      if (record.saga === saga) found.push(structuredClone(record));
    }
    return Promise.resolve(found);
  }
}

function idOf(saga: string, key: string): string {
  return `${saga}\u001f${key}`;
}
