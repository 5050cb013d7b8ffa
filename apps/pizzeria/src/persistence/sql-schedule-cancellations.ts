import { ConfigurationError, type ScheduleCancellations } from '@cloudbus/core';

import type { Database } from './database.js';

/**
 * {@link ScheduleCancellations} in the pizzeria's database (SQLite or PostgreSQL): a
 * `bus.cancelScheduled()` holds for every instance sharing the database, and across restarts.
 * Marks are removed when their schedule comes due.
 */
export class SqlScheduleCancellations implements ScheduleCancellations {
  readonly #table: string;

  /** @param table the table's name. @default 'cloudbus_schedule_cancellations' */
  constructor(
    private readonly db: Database,
    table = 'cloudbus_schedule_cancellations',
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new ConfigurationError(`Cancellation table '${table}' must be a lower-case identifier.`);
    this.#table = table;
  }

  /** Creates the table when it is missing. */
  async migrate(): Promise<void> {
    await this.db.execute(`CREATE TABLE IF NOT EXISTS ${this.#table} (schedule_id TEXT PRIMARY KEY, cancelled_at TEXT NOT NULL)`);
  }

  async cancel(scheduleId: string): Promise<void> {
    await this.db.execute(`INSERT INTO ${this.#table} (schedule_id, cancelled_at) VALUES (?, ?) ON CONFLICT (schedule_id) DO NOTHING`, [scheduleId, new Date().toISOString()]);
  }

  async isCancelled(scheduleId: string): Promise<boolean> {
    return (await this.db.query(`SELECT schedule_id FROM ${this.#table} WHERE schedule_id = ?`, [scheduleId])).length > 0;
  }

  async forget(scheduleId: string): Promise<void> {
    await this.db.execute(`DELETE FROM ${this.#table} WHERE schedule_id = ?`, [scheduleId]);
  }
}
