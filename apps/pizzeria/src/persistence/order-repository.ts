import type { EventBus } from '@cloudbus/core';

import { Order, type OrderSnapshot } from '../domain/order.js';
import type { OrderStatus } from '../domain/order-status.js';
import type { Database } from './database.js';
import { OrderConflictError } from './order-conflict-error.js';
import type { SqlOutbox } from './sql-outbox.js';

/** Builds CloudEvents without sending them: the main bus's `prepare`. */
export type EventPreparer = Pick<EventBus, 'prepare'>;

/**
 * Saves orders and their events together: the order row and the CloudEvents of the events it
 * raised are written in one transaction (the transactional outbox), so neither exists without
 * the other, even when the broker is down. Every event of an order carries the order id as its
 * correlation id, so an order's whole flow can be followed.
 */
export class OrderRepository {
  readonly #listeners = new Set<(order: OrderSnapshot) => void>();

  constructor(
    private readonly db: Database,
    private readonly outbox: SqlOutbox,
    private readonly events: EventPreparer,
  ) {}

  /**
   * Saves the order's changes and the events it raised, durably (on disk when it resolves, before
   * the HTTP API answers). Rejects with {@link OrderConflictError}
   * when the order was saved by someone else since it was loaded.
   */
  async save(order: Order): Promise<void> {
    const raised = order.pendingEvents;
    if (raised.length === 0) return;
    const snapshot = order.snapshot();
    const cloudEvents = this.events.prepare(raised, { correlationId: snapshot.id });
    await this.db.transaction(async (tx) => {
      const state = JSON.stringify({ ...snapshot, version: snapshot.version + 1 });
      if (snapshot.version === 0) {
        await tx.execute('INSERT INTO orders (id, status, version, state, placed_at) VALUES (?, ?, 1, ?, ?)', [
          snapshot.id,
          snapshot.status,
          state,
          snapshot.placedAt,
        ]);
      } else {
        const changed = await tx.execute('UPDATE orders SET status = ?, version = ?, state = ? WHERE id = ? AND version = ?', [
          snapshot.status,
          snapshot.version + 1,
          state,
          snapshot.id,
          snapshot.version,
        ]);
        if (changed === 0) throw new OrderConflictError(snapshot.id, snapshot.version);
      }
      await this.outbox.append(tx, cloudEvents);
    }, { durable: true });
    order.markSaved();
    this.outbox.committed();
    const saved = order.snapshot();
    for (const listener of this.#listeners) {
      try {
        listener(saved);
      } catch {
        // A listener's failure is its own: the order is saved.
      }
    }
  }

  /**
   * Calls `listener` with every order this instance saved, after the commit (orders saved by other
   * instances sharing the database are not seen). Returns a function that removes it.
   */
  onSaved(listener: (order: OrderSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The order, or undefined when there is none with that id. */
  async get(id: string): Promise<Order | undefined> {
    const rows = await this.db.query<{ state: string }>('SELECT state FROM orders WHERE id = ?', [id]);
    const row = rows[0];
    return row === undefined ? undefined : Order.fromSnapshot(JSON.parse(row.state) as OrderSnapshot);
  }

  /** The most recent orders, newest first. */
  async recent(limit: number, status?: OrderStatus): Promise<OrderSnapshot[]> {
    const rows =
      status === undefined
        ? await this.db.query<{ state: string }>('SELECT state FROM orders ORDER BY placed_at DESC LIMIT ?', [limit])
        : await this.db.query<{ state: string }>('SELECT state FROM orders WHERE status = ? ORDER BY placed_at DESC LIMIT ?', [status, limit]);
    return rows.map((row) => JSON.parse(row.state) as OrderSnapshot);
  }
}
