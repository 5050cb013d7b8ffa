import { resolve } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';

import type { Database, SqlExecutor } from './database.js';

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/**
 * Serialises the transactions of every connection to one file in this process: better-sqlite3
 * blocks the thread while it waits for a lock, so a second connection waiting on the first's
 * open (async) transaction would wait forever.
 */
interface FileLock {
  tail: Promise<void>;
  inTransaction: boolean;
  users: number;
}

const fileLocks = new Map<string, FileLock>();

/**
 * {@link Database} on an embedded SQLite file (better-sqlite3), or `:memory:`. SQLite is
 * synchronous and has one connection here, so transactions (whose bodies are async) run one at a
 * time; statements outside a transaction wait for the one in progress.
 */
export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite';
  readonly location: string;
  readonly #db: BetterSqlite3.Database;
  readonly #statements = new Map<string, Statement>();
  readonly #lock: FileLock;
  readonly #lockKey: string | undefined;

  /** @param path a file path (created when missing) or `:memory:` */
  constructor(path: string) {
    this.location = path === ':memory:' ? 'sqlite::memory:' : `sqlite:${path}`;
    this.#db = new BetterSqlite3(path);
    this.#lockKey = path === ':memory:' ? undefined : resolve(path);
    let lock = this.#lockKey === undefined ? undefined : fileLocks.get(this.#lockKey);
    if (lock === undefined) {
      lock = { tail: Promise.resolve(), inTransaction: false, users: 0 };
      if (this.#lockKey !== undefined) fileLocks.set(this.#lockKey, lock);
    }
    lock.users++;
    this.#lock = lock;
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('synchronous = NORMAL');
  }

  query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    if (!this.#lock.inTransaction) return Promise.resolve(this.#all<R>(sql, params));
    return this.#exclusive(() => Promise.resolve(this.#all<R>(sql, params)));
  }

  execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    if (!this.#lock.inTransaction) return Promise.resolve(this.#run(sql, params));
    return this.#exclusive(() => Promise.resolve(this.#run(sql, params)));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      this.#lock.inTransaction = true;
      this.#db.exec('BEGIN IMMEDIATE');
      const tx: SqlExecutor = {
        query: <R extends object>(sql: string, params: readonly unknown[] = []) => Promise.resolve(this.#all<R>(sql, params)),
        execute: (sql, params = []) => Promise.resolve(this.#run(sql, params)),
      };
      try {
        const result = await work(tx);
        this.#db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw error;
      } finally {
        this.#lock.inTransaction = false;
      }
    });
  }

  close(): Promise<void> {
    return this.#exclusive(() => {
      this.#db.close();
      if (--this.#lock.users === 0 && this.#lockKey !== undefined) fileLocks.delete(this.#lockKey);
      return Promise.resolve();
    });
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#lock.tail.then(work);
    this.#lock.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #all<R>(sql: string, params: readonly unknown[]): R[] {
    return this.#statement(sql).all(...params) as R[];
  }

  #run(sql: string, params: readonly unknown[]): number {
    return this.#statement(sql).run(...params).changes;
  }
}
