import { createRequire } from 'node:module';

import { ConfigurationError } from '@cloudbus/core';
import type PgModule from 'pg';

// Loaded with Node's require: pg is CommonJS, and bundling test runners mis-resolve its ESM wrapper.
const pg = createRequire(import.meta.url)('pg') as typeof PgModule;

import type { Database, SqlExecutor } from './database.js';

/** Options of {@link PostgresDatabase}. */
export interface PostgresDatabaseOptions {
  /** `postgres://user:password@host:5432/database`. */
  readonly url: string;
  /**
   * Schema holding the pizzeria's tables (created when missing); lets several pizzerias share a database.
   * @default 'public'
   */
  readonly schema?: string;
  /**
   * Connections in the pool.
   * @default 10
   */
  readonly poolSize?: number;
}

const placeholders = new Map<string, string>();

/** Rewrites `?` placeholders as `$1, $2, ...` (cached per statement). */
function toPostgres(sql: string): string {
  let converted = placeholders.get(sql);
  if (converted === undefined) {
    let index = 0;
    converted = sql.replace(/\?/g, () => `$${++index}`);
    placeholders.set(sql, converted);
  }
  return converted;
}

function executorOf(client: PgModule.Pool | PgModule.PoolClient): SqlExecutor {
  return {
    async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      const result = await client.query(toPostgres(sql), params as unknown[]);
      return result.rows as R[];
    },
    async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
      const result = await client.query(toPostgres(sql), params as unknown[]);
      return result.rowCount ?? 0;
    },
  };
}

/** {@link Database} on PostgreSQL (node-postgres pool). */
export class PostgresDatabase implements Database {
  readonly dialect = 'postgres';
  readonly location: string;
  readonly #pool: PgModule.Pool;
  readonly #executor: SqlExecutor;
  readonly #schema: string;

  constructor(options: PostgresDatabaseOptions) {
    const url = new URL(options.url);
    url.password = '';
    url.username = '';
    this.location = `${url.protocol}//${url.host}${url.pathname}`;
    const schema = options.schema ?? 'public';
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new ConfigurationError(`PostgreSQL schema '${schema}' must be a lower-case identifier.`);
    this.#schema = schema;
    this.#pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, options: `-c search_path=${schema}` });
    this.#pool.on('error', () => {
      // An idle client lost its connection; the pool replaces it on next use.
    });
    this.#executor = executorOf(this.#pool);
  }

  /** Creates the schema when it is missing (before the tables). */
  async ensureSchema(): Promise<void> {
    await this.#executor.execute(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
  }

  query<R extends object>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    return this.#executor.query<R>(sql, params);
  }

  execute(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.#executor.execute(sql, params);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(executorOf(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
