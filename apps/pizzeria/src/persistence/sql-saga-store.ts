import { ConfigurationError, SagaConflictError, type SagaRecord, type SagaStore } from '@cloudbus/core';

import type { Database } from './database.js';

interface Row {
  saga: string;
  key: string;
  id: string;
  version: number | string;
  state_version: number | string;
  status: string;
  completed_at: string | null;
  updated_at: string;
  body: string;
}

/** What the `body` column holds: the record's JSON parts. */
interface Body {
  readonly state: unknown;
  readonly timeouts: SagaRecord['timeouts'];
  readonly inbox: SagaRecord['inbox'];
  readonly outgoing: SagaRecord['outgoing'];
}

/**
 * {@link SagaStore} in the pizzeria's database (SQLite by default, or PostgreSQL): one table,
 * primary key `(saga, key)`, with a `version` column for optimistic concurrency. An insert that
 * finds the row (a concurrent starter) and an update whose version moved on both reject with
 * `SagaConflictError`, and the bus reloads and re-runs the handler.
 */
export class SqlSagaStore implements SagaStore {
  readonly #table: string;

  /** @param table the table's name. @default 'cloudbus_sagas' */
  constructor(
    private readonly db: Database,
    table = 'cloudbus_sagas',
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new ConfigurationError(`Saga table '${table}' must be a lower-case identifier.`);
    this.#table = table;
  }

  /** Creates the table when it is missing. */
  async migrate(): Promise<void> {
    await this.db.execute(
      `CREATE TABLE IF NOT EXISTS ${this.#table} (
        saga TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL UNIQUE, version BIGINT NOT NULL, state_version INTEGER NOT NULL,
        status TEXT NOT NULL, completed_at TEXT, updated_at TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (saga, key))`,
    );
  }

  async get(saga: string, key: string): Promise<SagaRecord | undefined> {
    const rows = await this.db.query<Row>(`SELECT * FROM ${this.#table} WHERE saga = ? AND key = ?`, [saga, key]);
    return rows[0] === undefined ? undefined : recordOf(rows[0]);
  }

  async commit(record: SagaRecord, expectedVersion: number): Promise<void> {
    if (record.version !== expectedVersion + 1) throw new SagaConflictError(record.saga, record.key, expectedVersion);
    const body = JSON.stringify({ state: record.state, timeouts: record.timeouts, inbox: record.inbox, outgoing: record.outgoing } satisfies Body);
    let changed: number;
    if (expectedVersion === 0) {
      changed = await this.db.execute(
        `INSERT INTO ${this.#table} (saga, key, id, version, state_version, status, completed_at, updated_at, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (saga, key) DO NOTHING`,
        [record.saga, record.key, record.id, record.version, record.stateVersion, record.status, record.completedAt, record.updatedAt, body],
      );
    } else {
      changed = await this.db.execute(
        `UPDATE ${this.#table} SET version = ?, state_version = ?, status = ?, completed_at = ?, updated_at = ?, body = ?
         WHERE saga = ? AND key = ? AND version = ?`,
        [record.version, record.stateVersion, record.status, record.completedAt, record.updatedAt, body, record.saga, record.key, expectedVersion],
      );
    }
    if (changed === 0) throw new SagaConflictError(record.saga, record.key, expectedVersion);
  }

  purgeCompleted(saga: string, before: Date): Promise<number> {
    return this.db.execute(`DELETE FROM ${this.#table} WHERE saga = ? AND status = 'completed' AND completed_at < ?`, [saga, before.toISOString()]);
  }

  async list(saga: string, limit = 1_000): Promise<SagaRecord[]> {
    const rows = await this.db.query<Row>(`SELECT * FROM ${this.#table} WHERE saga = ? ORDER BY updated_at DESC LIMIT ?`, [saga, limit]);
    return rows.map(recordOf);
  }
}

function recordOf(row: Row): SagaRecord {
  const body = JSON.parse(row.body) as Body;
  return {
    saga: row.saga,
    key: row.key,
    id: row.id,
    version: Number(row.version),
    stateVersion: Number(row.state_version),
    status: row.status === 'completed' ? 'completed' : 'active',
    completedAt: row.completed_at,
    updatedAt: row.updated_at,
    state: body.state,
    timeouts: body.timeouts,
    inbox: body.inbox,
    outgoing: body.outgoing,
  };
}
