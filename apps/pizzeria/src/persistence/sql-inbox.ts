import { ConfigurationError, type Inbox } from '@cloudbus/core';

import type { Database } from './database.js';

/** Options of {@link SqlInbox}. */
export interface SqlInboxOptions {
  /**
   * How long a claim holds while its handler runs. A claim older than this (its process died
   * mid-handler) may be taken again by the redelivery.
   * @default 60_000
   */
  readonly leaseMs?: number;
}

/**
 * The idempotency inbox on the pizzeria's database, shared by every instance using it: an event
 * redelivered (or relayed twice by the outbox) runs each handler once.
 */
export class SqlInbox implements Inbox {
  readonly #leaseMs: number;

  constructor(
    private readonly db: Database,
    options: SqlInboxOptions = {},
  ) {
    this.#leaseMs = options.leaseMs ?? 60_000;
    if (!(this.#leaseMs > 0)) throw new ConfigurationError(`SqlInbox: leaseMs must be > 0, got ${String(options.leaseMs)}.`);
  }

  async claim(key: string): Promise<boolean> {
    const now = Date.now();
    const changed = await this.db.execute(
      `INSERT INTO inbox (key, status, claimed_at) VALUES (?, 'processing', ?)
       ON CONFLICT (key) DO UPDATE SET claimed_at = excluded.claimed_at
       WHERE inbox.status = 'processing' AND inbox.claimed_at < ?`,
      [storable(key), now, now - this.#leaseMs],
    );
    return changed > 0;
  }

  async complete(key: string): Promise<void> {
    await this.db.execute(`UPDATE inbox SET status = 'done' WHERE key = ?`, [storable(key)]);
  }

  async release(key: string): Promise<void> {
    await this.db.execute(`DELETE FROM inbox WHERE key = ? AND status = 'processing'`, [storable(key)]);
  }
}

/** Core's keys separate their parts with NUL, which PostgreSQL text cannot hold. */
function storable(key: string): string {
  return key.replaceAll('\u0000', ' | ');
}
