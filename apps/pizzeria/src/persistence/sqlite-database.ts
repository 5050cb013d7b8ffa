import { resolve } from 'node:path';

import Libsql from 'libsql';

import type { Database, SqlExecutor, TransactionOptions } from './database.js';

type Statement = Libsql.Statement<unknown[]>;

/**
 * Serialises the transactions of every connection to one file in this process: libsql (like
 * better-sqlite3) blocks the thread while it waits for a lock, so a second connection waiting on the first's
 * open (async) transaction would wait forever.
 */
interface FileLock {
  tail: Promise<void>;
  inTransaction: boolean;
  users: number;
}

const fileLocks = new Map<string, FileLock>();

/**
 * {@link Database} on an embedded SQLite file, or `:memory:`, through libsql: SQLite with a
 * better-sqlite3-compatible API whose binary comes prebuilt in a per-platform npm package (no
 * native build, no download at install). SQLite is synchronous and has one connection here, so
 * transactions (whose bodies are async) run one at a time; statements outside a transaction wait
 * for the one in progress.
 *
 * Durability: WAL. A `durable` transaction commits with `synchronous = FULL` (the WAL fsynced,
 * about 5 ms on a virtual disk): the orders' changes and their outbox rows are on disk before
 * the HTTP response. The others (inbox marks, read models) commit with `synchronous = NORMAL`:
 * atomic and safe from a crash of the process, synced at the next durable commit or checkpoint;
 * an fsync per handler call would block the event loop for most of the time under load.
 */
export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite';
  readonly location: string;
  readonly #db: Libsql.Database;
  readonly #statements = new Map<string, Statement>();
  readonly #lock: FileLock;
  readonly #lockKey: string | undefined;

  /** @param path a file path (created when missing) or `:memory:` */
  constructor(path: string) {
    this.location = path === ':memory:' ? 'sqlite::memory:' : `sqlite:${path}`;
    this.#db = new Libsql(path, { timeout: 5_000 });
    this.#lockKey = path === ':memory:' ? undefined : resolve(path);
    let lock = this.#lockKey === undefined ? undefined : fileLocks.get(this.#lockKey);
    if (lock === undefined) {
      lock = { tail: Promise.resolve(), inTransaction: false, users: 0 };
      if (this.#lockKey !== undefined) fileLocks.set(this.#lockKey, lock);
    }
    lock.users++;
    this.#lock = lock;
    this.#db.pragma('journal_mode = WAL');
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

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const durable = options.durable === true;
    return this.#exclusive(async () => {
      this.#lock.inTransaction = true;
      if (durable) this.#db.exec('PRAGMA synchronous = FULL');
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
        if (durable) this.#db.exec('PRAGMA synchronous = NORMAL');
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
