import { randomUUID } from 'node:crypto';

import { ConfigurationError, type CloudEvent, type OutboxEntry, type OutboxStore } from '@cloudbus/core';

import type { SqlExecutor, Database } from './database.js';

/** Options of {@link SqlOutbox}. */
export interface SqlOutboxOptions {
  /**
   * Which bus this outbox feeds: one table holds the outboxes of several buses (the main bus and
   * the kitchen bus), each relayed by its own relay.
   * @default 'main'
   */
  readonly bus?: string;
  /**
   * How long entries handed to this instance's relay stay its own. Instances sharing the database
   * do not relay each other's claimed entries until the claim expires (the instance died).
   * @default 30_000
   */
  readonly claimMs?: number;
}

/**
 * The transactional outbox on the pizzeria's database: `append` writes CloudEvents (built with
 * `bus.prepare`) inside the transaction that saves the data; core's `OutboxRelay` reads them
 * back through the {@link OutboxStore} methods and publishes them. Entries are claimed by the
 * instance that reads them, so several instances on one database do not relay the same events.
 */
export class SqlOutbox implements OutboxStore {
  readonly #listeners = new Set<() => void>();
  readonly #instance = randomUUID();
  readonly #claimMs: number;
  readonly #bus: string;

  constructor(
    private readonly db: Database,
    options: SqlOutboxOptions = {},
  ) {
    this.#claimMs = options.claimMs ?? 30_000;
    this.#bus = options.bus ?? 'main';
    if (!(this.#claimMs > 0)) throw new ConfigurationError(`SqlOutbox: claimMs must be > 0, got ${String(options.claimMs)}.`);
  }

  /** Writes CloudEvents to the outbox, in the caller's transaction. */
  async append(tx: SqlExecutor, cloudEvents: readonly CloudEvent[]): Promise<void> {
    for (const cloudEvent of cloudEvents) {
      await tx.execute('INSERT INTO outbox (bus, cloud_event) VALUES (?, ?)', [this.#bus, JSON.stringify(cloudEvent)]);
    }
  }

  /** Call after committing a transaction that appended: wakes the relay. */
  committed(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Called after each commit that appended to the outbox (the relay's `notify`). */
  onCommitted(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async pending(limit: number): Promise<readonly OutboxEntry[]> {
    const now = Date.now();
    const me = this.#instance;
    const rows = await this.db.transaction(async (tx) => {
      await tx.execute(
        `UPDATE outbox SET claimed_by = ?, claimed_until = ?
         WHERE position IN (SELECT position FROM outbox WHERE bus = ? AND (claimed_by = ? OR claimed_until < ?) ORDER BY position LIMIT ?)
         AND (claimed_by = ? OR claimed_until < ?)`,
        [me, now + this.#claimMs, this.#bus, me, now, limit, me, now],
      );
      return tx.query<{ position: number | string; cloud_event: string }>(
        'SELECT position, cloud_event FROM outbox WHERE bus = ? AND claimed_by = ? ORDER BY position LIMIT ?',
        [this.#bus, me, limit],
      );
    });
    return rows.map((row) => ({ position: Number(row.position), cloudEvent: JSON.parse(row.cloud_event) as CloudEvent }));
  }

  async markRelayed(positions: readonly number[]): Promise<void> {
    if (positions.length === 0) return;
    await this.db.execute(`DELETE FROM outbox WHERE position IN (${positions.map(() => '?').join(', ')})`, positions);
  }

  /** Entries not relayed yet. */
  async size(): Promise<number> {
    const rows = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM outbox WHERE bus = ?', [this.#bus]);
    return Number(rows[0]?.n ?? 0);
  }
}
