import { InventoryLow } from '../events/inventory-low.js';
import type { Database, SqlExecutor } from './database.js';
import type { EventPreparer } from './order-repository.js';
import type { SqlOutbox } from './sql-outbox.js';

/** An ingredient's level, as GET /stock shows it. */
export interface StockLine {
  readonly ingredient: string;
  readonly quantity: number;
  readonly threshold: number;
  readonly supplier: string;
  readonly low: boolean;
}

/** A low-stock alert and the reorder it caused. */
export interface StockAlert {
  readonly ingredient: string;
  readonly quantity: number;
  readonly threshold: number;
  readonly supplier: string;
  /** Units ordered from the supplier (and received: the simulated supplier delivers at once). */
  readonly reordered: number;
  readonly raisedAt: string;
}

/** What a reservation did. */
export type ReservationResult =
  | { readonly outcome: 'reserved' | 'already-reserved' }
  | { readonly outcome: 'insufficient'; readonly missing: readonly string[] };

/**
 * The kitchen's stock: reserves ingredients for orders (raising InventoryLow through the outbox,
 * in the same transaction, when an ingredient falls under its threshold), releases them for
 * cancelled orders, and restocks from suppliers.
 */
export class InventoryStore {
  constructor(
    private readonly db: Database,
    private readonly outbox: SqlOutbox,
    private readonly events: EventPreparer,
  ) {}

  /**
   * Takes `needs` (ingredient -> units) from the stock for an order, once: a second call for the
   * same order changes nothing. Refuses, changing nothing, when an ingredient is short.
   * `alsoInTransaction` runs in the reservation's transaction when it succeeds (the kitchen
   * queues the order's ticket there, through the kitchen outbox).
   */
  async reserve(
    orderId: string,
    needs: ReadonlyMap<string, number>,
    alsoInTransaction: (tx: SqlExecutor) => Promise<void> = () => Promise.resolve(),
  ): Promise<ReservationResult> {
    let raised = false;
    const result = await this.db.transaction(async (tx): Promise<ReservationResult> => {
      const existing = await tx.query('SELECT order_id FROM stock_reservations WHERE order_id = ?', [orderId]);
      if (existing.length > 0) return { outcome: 'already-reserved' };
      const lows: InventoryLow[] = [];
      const missing: string[] = [];
      for (const [ingredient, units] of needs) {
        const rows = await tx.query<{ quantity: number; threshold: number; supplier: string }>(
          'SELECT quantity, threshold, supplier FROM stock WHERE ingredient = ?',
          [ingredient],
        );
        const row = rows[0];
        if (row === undefined || row.quantity < units) {
          missing.push(ingredient);
          continue;
        }
        const left = row.quantity - units;
        if (left < row.threshold && row.quantity >= row.threshold) lows.push(new InventoryLow(ingredient, left, row.threshold, row.supplier));
      }
      if (missing.length > 0) return { outcome: 'insufficient', missing };
      for (const [ingredient, units] of needs) {
        await tx.execute('UPDATE stock SET quantity = quantity - ? WHERE ingredient = ?', [units, ingredient]);
      }
      await tx.execute('INSERT INTO stock_reservations (order_id, needs, reserved_at) VALUES (?, ?, ?)', [
        orderId,
        JSON.stringify(Object.fromEntries(needs)),
        new Date().toISOString(),
      ]);
      if (lows.length > 0) {
        await this.outbox.append(tx, this.events.prepare(lows));
        raised = true;
      }
      await alsoInTransaction(tx);
      return { outcome: 'reserved' };
    });
    if (raised) this.outbox.committed();
    return result;
  }

  /** Puts back what was reserved for an order (a cancelled order); false when nothing was. */
  async release(orderId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ needs: string }>('SELECT needs FROM stock_reservations WHERE order_id = ?', [orderId]);
      const row = rows[0];
      if (row === undefined) return false;
      for (const [ingredient, units] of Object.entries(JSON.parse(row.needs) as Record<string, number>)) {
        await tx.execute('UPDATE stock SET quantity = quantity + ? WHERE ingredient = ?', [units, ingredient]);
      }
      await tx.execute('DELETE FROM stock_reservations WHERE order_id = ?', [orderId]);
      return true;
    });
  }

  /** Records a low-stock alert and receives the supplier's delivery of the ingredient's reorder quantity. */
  async reorder(alert: { readonly ingredient: string; readonly quantity: number; readonly threshold: number; readonly supplier: string }): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<{ reorder_quantity: number }>('SELECT reorder_quantity FROM stock WHERE ingredient = ?', [alert.ingredient]);
      const reordered = Number(rows[0]?.reorder_quantity ?? 0);
      await tx.execute('UPDATE stock SET quantity = quantity + ? WHERE ingredient = ?', [reordered, alert.ingredient]);
      await tx.execute(
        'INSERT INTO stock_alerts (ingredient, quantity, threshold, supplier, reordered, raised_at) VALUES (?, ?, ?, ?, ?, ?)',
        [alert.ingredient, alert.quantity, alert.threshold, alert.supplier, reordered, new Date().toISOString()],
      );
      return reordered;
    });
  }

  /** Every ingredient's level. */
  async levels(): Promise<StockLine[]> {
    const rows = await this.db.query<{ ingredient: string; quantity: number; threshold: number; supplier: string }>(
      'SELECT ingredient, quantity, threshold, supplier FROM stock ORDER BY ingredient',
    );
    return rows.map((row) => ({
      ingredient: row.ingredient,
      quantity: Number(row.quantity),
      threshold: Number(row.threshold),
      supplier: row.supplier,
      low: Number(row.quantity) < Number(row.threshold),
    }));
  }

  /** Low-stock alerts, newest first. */
  async alerts(limit = 50): Promise<StockAlert[]> {
    const rows = await this.db.query<{ ingredient: string; quantity: number; threshold: number; supplier: string; reordered: number; raised_at: string }>(
      'SELECT ingredient, quantity, threshold, supplier, reordered, raised_at FROM stock_alerts ORDER BY position DESC LIMIT ?',
      [limit],
    );
    return rows.map((row) => ({
      ingredient: row.ingredient,
      quantity: Number(row.quantity),
      threshold: Number(row.threshold),
      supplier: row.supplier,
      reordered: Number(row.reordered),
      raisedAt: row.raised_at,
    }));
  }
}
