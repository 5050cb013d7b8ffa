import type { CloudEvent } from '../envelope/cloud-event.js';

/** A timeout a saga instance waits for: the token its timeout event must carry to count. */
export interface SagaTimeoutRecord {
  readonly token: string;
  /** When it is due, ISO 8601. */
  readonly dueAt: string;
}

/** Events a saga step emitted, kept with the state so that a redelivery of the step sends them again. */
export interface SagaOutgoing {
  /** The inbox key of the event whose handling emitted them. */
  readonly inboxKey: string;
  /** The CloudEvents (published events, and the carriers of requested timeouts). */
  readonly events: readonly CloudEvent[];
}

/** One saga instance as stored. */
export interface SagaRecord {
  /** The saga's stored name (`@Saga(name)`). */
  readonly saga: string;
  /** The correlation key: with `saga`, the primary key. */
  readonly key: string;
  /** A unique id of the instance (a new one when the same key starts again after purging). */
  readonly id: string;
  /** Optimistic concurrency: 1 once inserted, one more on each update. */
  readonly version: number;
  /** The version of the state's shape (`@Saga(name, { version })`), for `upcast` on load. */
  readonly stateVersion: number;
  /** The saga's state, as JSON; `null` once completed (completion removes it). */
  readonly state: unknown;
  /** `completed`: a tombstone, so late events are recognised as late; purged after `keepCompletedMs`. */
  readonly status: 'active' | 'completed';
  /** When it completed, ISO 8601. */
  readonly completedAt: string | null;
  /** Outstanding timeouts by timeout event type. */
  readonly timeouts: Readonly<Record<string, SagaTimeoutRecord>>;
  /** Inbox keys of the latest events handled (bounded): a redelivered one is not applied twice. */
  readonly inbox: readonly string[];
  /** What the latest step emitted, sent again when that step's event is redelivered. */
  readonly outgoing: SagaOutgoing | null;
  /** When it was last saved, ISO 8601. */
  readonly updatedAt: string;
}

/**
 * Where sagas keep their state: one record per `(saga, key)`, saved with optimistic concurrency.
 * Implementations: {@link MemorySagaStore}; the pizzeria's `SqlSagaStore` (SQLite, PostgreSQL).
 * `sagaStoreContract` from `@cloudbus/core/testing/contract` checks an implementation.
 */
export interface SagaStore {
  /** The record, or undefined. */
  get(saga: string, key: string): Promise<SagaRecord | undefined>;
  /**
   * Saves `record`: inserts it when `expectedVersion` is 0, otherwise updates the stored record
   * whose version is `expectedVersion`. Rejects with `SagaConflictError` when the record exists
   * (insert) or its version moved on (update); then nothing is saved. `record.version` is
   * `expectedVersion + 1`.
   */
  commit(record: SagaRecord, expectedVersion: number): Promise<void>;
  /** Removes the saga's records completed before `before`; resolves with how many. */
  purgeCompleted(saga: string, before: Date): Promise<number>;
  /** Active and completed records of a saga (for tests and tools), at most `limit`. */
  list(saga: string, limit?: number): Promise<SagaRecord[]>;
}
