/** Runs SQL. Placeholders are `?` on every dialect. */
export interface SqlExecutor {
  /** The rows a query returns. */
  query<R extends object>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** Options of {@link Database.transaction}. */
export interface TransactionOptions {
  /**
   * On disk when the transaction resolves, so a power cut cannot undo it: SQLite syncs its WAL at
   * this commit (which makes every earlier commit durable too). Other SQLite commits are atomic
   * and survive a crash of the process, but the last of them may be lost in a power cut.
   * PostgreSQL commits are always durable (its default `synchronous_commit = on`).
   * @default false
   */
  readonly durable?: boolean;
}

/**
 * The pizzeria's database: embedded SQLite by default, PostgreSQL by URL. Orders, the outbox,
 * the inbox and the read models live in it, so the order and its events are saved in one
 * transaction.
 */
export interface Database extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where it is, without credentials (for /health and logs). */
  readonly location: string;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it rejects. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}
