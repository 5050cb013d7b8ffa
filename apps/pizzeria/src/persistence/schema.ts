import { INITIAL_STOCK } from '../domain/menu.js';
import type { Database } from './database.js';

/**
 * Creates the pizzeria's tables when they are missing and seeds the opening stock. The same DDL
 * runs on SQLite and PostgreSQL, except the outbox's auto-incremented position.
 */
export async function migrate(db: Database): Promise<void> {
  const serial = db.dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';
  const statements = [
    `CREATE TABLE IF NOT EXISTS orders (
      id TEXT PRIMARY KEY, status TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL, placed_at TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS outbox (position ${serial}, bus TEXT NOT NULL, cloud_event TEXT NOT NULL, claimed_by TEXT, claimed_until BIGINT NOT NULL DEFAULT 0)`,
    `CREATE TABLE IF NOT EXISTS inbox (key TEXT PRIMARY KEY, status TEXT NOT NULL, claimed_at BIGINT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS stock (
      ingredient TEXT PRIMARY KEY, quantity INTEGER NOT NULL, threshold INTEGER NOT NULL, reorder_quantity INTEGER NOT NULL, supplier TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS stock_reservations (order_id TEXT PRIMARY KEY, needs TEXT NOT NULL, reserved_at TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS stock_alerts (
      position ${serial}, ingredient TEXT NOT NULL, quantity INTEGER NOT NULL, threshold INTEGER NOT NULL,
      supplier TEXT NOT NULL, reordered INTEGER NOT NULL, raised_at TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS analytics (metric TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS notifications (
      position ${serial}, channel TEXT NOT NULL, recipient TEXT NOT NULL, order_id TEXT NOT NULL,
      subject TEXT, body TEXT NOT NULL, sent_at TEXT NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS notifications_order ON notifications (order_id)`,
  ];
  await db.transaction(async (tx) => {
    for (const statement of statements) await tx.execute(statement);
    for (const level of INITIAL_STOCK) {
      await tx.execute(
        'INSERT INTO stock (ingredient, quantity, threshold, reorder_quantity, supplier) VALUES (?, ?, ?, ?, ?) ON CONFLICT (ingredient) DO NOTHING',
        [level.ingredient, level.quantity, level.threshold, level.quantity, level.supplier],
      );
    }
  });
}
