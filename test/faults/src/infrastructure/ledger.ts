import Database from 'libsql';

/** One dead letter as the checker needs it, read back from the broker's dead-letter destination. */
export interface LedgerDeadLetter {
  /** The CloudEvent id, or a marker (`raw:<label>`) for input that was never a CloudEvent. */
  readonly id: string;
  readonly handler: string;
  readonly reason: string;
  readonly attempts: number;
  readonly errorType: string;
  readonly error: string;
  readonly stack: string;
  readonly source: string;
  readonly firstTime: string;
  readonly time: string;
}

/** Counts per id and handler, as the checker reads them. */
export interface LedgerCounts {
  readonly id: string;
  readonly handler: string;
  readonly attempts: number;
  readonly effects: number;
}

/**
 * What a fault case did, in SQLite (WAL, so the test and its child consumer processes write to
 * the same file at once, and a SIGKILLed child loses nothing it committed):
 * - `published`: every id a publisher tried, whether the broker confirmed it, and the error the
 *   caller got otherwise;
 * - `attempts`: every handler call (id, handler, process, attempt number);
 * - `effects`: every side effect, written in the same transaction as the inbox mark;
 * - `inbox`: the idempotent inbox's processed keys;
 * - `dead_letters`: what the dead-letter destination held at the end.
 */
export class Ledger {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #insertPublished: Database.Statement;
  readonly #confirm: Database.Statement;
  readonly #reject: Database.Statement;
  readonly #insertAttempt: Database.Statement;
  readonly #insertEffect: Database.Statement;
  readonly #insertInbox: Database.Statement;
  readonly #hasInbox: Database.Statement;
  readonly #effectWithInbox: Database.Transaction<(key: string, id: string, handler: string, instance: string) => boolean>;

  constructor(path: string) {
    this.path = path;
    this.#db = new Database(path, { timeout: 30_000 });
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS published (id TEXT PRIMARY KEY, confirmed INTEGER NOT NULL, error TEXT);
      CREATE TABLE IF NOT EXISTS attempts (id TEXT NOT NULL, handler TEXT NOT NULL, instance TEXT NOT NULL, attempt INTEGER NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS effects (id TEXT NOT NULL, handler TEXT NOT NULL, instance TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS inbox (key TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS dead_letters (id TEXT NOT NULL, handler TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL,
        error_type TEXT NOT NULL, error TEXT NOT NULL, stack TEXT NOT NULL, source TEXT NOT NULL, first_time TEXT NOT NULL, time TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS attempts_id ON attempts (id, handler);
      CREATE INDEX IF NOT EXISTS effects_id ON effects (id, handler);
    `);
    this.#insertPublished = this.#db.prepare('INSERT OR IGNORE INTO published (id, confirmed) VALUES (?, 0)');
    this.#confirm = this.#db.prepare('UPDATE published SET confirmed = 1, error = NULL WHERE id = ?');
    this.#reject = this.#db.prepare('UPDATE published SET error = ? WHERE id = ? AND confirmed = 0');
    this.#insertAttempt = this.#db.prepare('INSERT INTO attempts (id, handler, instance, attempt, at) VALUES (?, ?, ?, ?, ?)');
    this.#insertEffect = this.#db.prepare('INSERT INTO effects (id, handler, instance, at) VALUES (?, ?, ?, ?)');
    this.#insertInbox = this.#db.prepare('INSERT OR IGNORE INTO inbox (key) VALUES (?)');
    this.#hasInbox = this.#db.prepare('SELECT 1 FROM inbox WHERE key = ?');
    this.#effectWithInbox = this.#db.transaction((key: string, id: string, handler: string, instance: string) => {
      if (this.#hasInbox.get(key) !== undefined) return false;
      this.#insertInbox.run(key);
      this.#insertEffect.run(id, handler, instance, Date.now());
      return true;
    });
  }

  /** Records ids about to be published (not confirmed yet). */
  published(ids: readonly string[]): void {
    this.#db.transaction(() => {
      for (const id of ids) this.#insertPublished.run(id);
    })();
  }

  /** The broker confirmed these ids. */
  confirmed(ids: readonly string[]): void {
    this.#db.transaction(() => {
      for (const id of ids) this.#confirm.run(id);
    })();
  }

  /** The caller got `error` for these ids (they stay unconfirmed). */
  rejected(ids: readonly string[], error: string): void {
    this.#db.transaction(() => {
      for (const id of ids) this.#reject.run(error, id);
    })();
  }

  /** A handler call. */
  attempt(id: string, handler: string, instance: string, attempt: number): void {
    this.#insertAttempt.run(id, handler, instance, attempt, Date.now());
  }

  /**
   * The handler's side effect. With `inboxKey`, the effect and the inbox mark are one
   * transaction, and an effect whose key is marked already is skipped (returns false).
   */
  effect(id: string, handler: string, instance: string, inboxKey?: string): boolean {
    if (inboxKey === undefined) {
      this.#insertEffect.run(id, handler, instance, Date.now());
      return true;
    }
    // IMMEDIATE: take the write lock first, so a concurrent writer in another process makes this
    // wait (busy timeout) instead of failing with SQLITE_BUSY_SNAPSHOT on the read-then-write.
    return this.#effectWithInbox.immediate(inboxKey, id, handler, instance);
  }

  /** True when the inbox holds `key`. */
  inboxHas(key: string): boolean {
    return this.#hasInbox.get(key) !== undefined;
  }

  /** Marks `key` processed (idempotent). */
  inboxAdd(key: string): void {
    this.#insertInbox.run(key);
  }

  /** Replaces the dead letters recorded with those read from the broker. */
  recordDeadLetters(deadLetters: readonly LedgerDeadLetter[]): void {
    const insert = this.#db.prepare(
      'INSERT INTO dead_letters (id, handler, reason, attempts, error_type, error, stack, source, first_time, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#db.transaction(() => {
      this.#db.exec('DELETE FROM dead_letters');
      for (const d of deadLetters) insert.run(d.id, d.handler, d.reason, d.attempts, d.errorType, d.error, d.stack, d.source, d.firstTime, d.time);
    })();
  }

  /** Every published id with its confirmation and the error reported for it. */
  /** Published ids in the order they were published. */
  publishedIds(): string[] {
    return (this.#db.prepare('SELECT id FROM published ORDER BY rowid').all() as { id: string }[]).map((row) => row.id);
  }

  publishes(): { id: string; confirmed: boolean; error: string | null }[] {
    return (this.#db.prepare('SELECT id, confirmed, error FROM published').all() as { id: string; confirmed: number; error: string | null }[]).map(
      (row) => ({ id: row.id, confirmed: row.confirmed === 1, error: row.error }),
    );
  }

  /** Attempts and effects per id and handler. */
  counts(): LedgerCounts[] {
    return this.#db
      .prepare(
        `SELECT id, handler, SUM(a) AS attempts, SUM(e) AS effects FROM (
           SELECT id, handler, 1 AS a, 0 AS e FROM attempts UNION ALL SELECT id, handler, 0 AS a, 1 AS e FROM effects
         ) GROUP BY id, handler`,
      )
      .all() as LedgerCounts[];
  }

  /** Attempt numbers seen for an id and handler, in order. */
  attemptsOf(id: string, handler: string): { attempt: number; at: number; instance: string }[] {
    return this.#db.prepare('SELECT attempt, at, instance FROM attempts WHERE id = ? AND handler = ? ORDER BY at, rowid').all(id, handler) as {
      attempt: number;
      at: number;
      instance: string;
    }[];
  }

  /** Dead letters recorded by {@link recordDeadLetters}. */
  deadLetters(): LedgerDeadLetter[] {
    return this.#db
      .prepare(
        'SELECT id, handler, reason, attempts, error_type AS errorType, error, stack, source, first_time AS firstTime, time FROM dead_letters',
      )
      .all() as LedgerDeadLetter[];
  }

  /** Effects recorded so far for a handler (all ids). */
  effectCount(handler: string): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM effects WHERE handler = ?').get(handler) as { n: number }).n;
  }

  /** Distinct ids with an effect for a handler. */
  distinctEffects(handler: string): number {
    return (this.#db.prepare('SELECT COUNT(DISTINCT id) AS n FROM effects WHERE handler = ?').get(handler) as { n: number }).n;
  }

  /** Attempts recorded so far for a handler. */
  attemptCount(handler: string): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM attempts WHERE handler = ?').get(handler) as { n: number }).n;
  }

  close(): void {
    this.#db.close();
  }
}
