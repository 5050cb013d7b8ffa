/** Runs SQL. Placeholders are `?` on every dialect. */
export interface SqlExecutor {
  /** The rows a query returns. */
  query<R extends object>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
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
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
