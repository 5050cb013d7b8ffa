import type { Ledger, LedgerDeadLetter } from './ledger.js';

/** What the checker is told about a case. */
export interface CheckOptions {
  /** Handlers (subscription names, `<service>.<handler>`) every confirmed id must reach. */
  readonly handlers: readonly string[];
  /** The idempotent inbox was on: exactly once; otherwise at least once, duplicates counted. */
  readonly inbox: boolean;
  /**
   * Confirmed ids the broker itself may have lost, by its documented durability (Mosquitto's
   * persistence is a periodic snapshot: what it acknowledged since the last one is gone after a
   * SIGKILL). Reported apart, not as a violation; any other loss still is one.
   */
  readonly brokerLoss?: ReadonlySet<string>;
}

/** The verdict on one case. */
export interface CheckResult {
  /** Ids the publisher tried. */
  readonly messages: number;
  readonly confirmed: number;
  /** Ids not confirmed, each reported to the caller as an error. */
  readonly unconfirmed: number;
  /** Confirmed ids (per handler) neither handled nor dead-lettered, outside `brokerLoss`. */
  readonly lost: readonly string[];
  /** Confirmed ids (per handler) neither handled nor dead-lettered, that the broker was allowed to lose (`brokerLoss`). */
  readonly lostByBroker: readonly string[];
  /** Side effects beyond the first, over every id and handler. */
  readonly duplicated: number;
  /** Dead letters (per handler) of confirmed ids. */
  readonly deadLettered: number;
  /** Every broken promise, in words; empty when the case held. */
  readonly violations: readonly string[];
}

const HANDLER_FAILURES = new Set(['retries-exhausted', 'non-retryable']);

/** The fields a dead letter must carry, empty ones named. */
export function incompleteFields(deadLetter: LedgerDeadLetter): string[] {
  const missing: string[] = [];
  for (const field of ['reason', 'handler', 'errorType', 'error', 'source', 'firstTime', 'time'] as const) {
    if (deadLetter[field] === '') missing.push(field);
  }
  if (HANDLER_FAILURES.has(deadLetter.reason)) {
    if (deadLetter.attempts < 1) missing.push('attempts');
    if (deadLetter.stack === '') missing.push('stack');
  }
  for (const field of ['firstTime', 'time'] as const) {
    if (deadLetter[field] !== '' && Number.isNaN(Date.parse(deadLetter[field]))) missing.push(`${field} (not a time)`);
  }
  return missing;
}

/**
 * Checks a ledger against cloudbus's promises: every confirmed id handled exactly once by each
 * handler with the inbox on (at least once with it off, duplicates counted), or dead-lettered
 * with a complete failure record; no id both handled and dead-lettered; every unconfirmed publish
 * reported to the caller as an error; nothing handled that was never published.
 */
export function checkLedger(ledger: Ledger, options: CheckOptions): CheckResult {
  const publishes = ledger.publishes();
  const published = new Set(publishes.map((p) => p.id));
  const confirmed = publishes.filter((p) => p.confirmed);
  const violations: string[] = [];

  const unreported = publishes.filter((p) => !p.confirmed && p.error === null);
  if (unreported.length > 0) violations.push(`${unreported.length} unconfirmed publish(es) never reported to the caller (e.g. ${unreported[0]!.id})`);

  const effects = new Map<string, number>();
  for (const row of ledger.counts()) {
    if (row.effects > 0) effects.set(`${row.handler}\u0000${row.id}`, row.effects);
    if (!published.has(row.id)) violations.push(`${row.handler} handled ${row.id}, which was never published`);
  }
  const deadLetters = new Map<string, LedgerDeadLetter>();
  for (const deadLetter of ledger.deadLetters()) {
    if (!options.handlers.includes(deadLetter.handler)) continue;
    const key = `${deadLetter.handler}\u0000${deadLetter.id}`;
    if (deadLetters.has(key)) violations.push(`${deadLetter.handler}: ${deadLetter.id} dead-lettered twice`);
    deadLetters.set(key, deadLetter);
    const missing = incompleteFields(deadLetter);
    if (missing.length > 0) violations.push(`${deadLetter.handler}: dead letter of ${deadLetter.id} lacks ${missing.join(', ')}`);
  }

  const lost: string[] = [];
  const lostByBroker: string[] = [];
  let duplicated = 0;
  let deadLettered = 0;
  for (const handler of options.handlers) {
    for (const { id } of confirmed) {
      const key = `${handler}\u0000${id}`;
      const count = effects.get(key) ?? 0;
      const deadLetter = deadLetters.get(key);
      if (count > 1) duplicated += count - 1;
      if (deadLetter !== undefined) deadLettered++;
      if (count === 0 && deadLetter === undefined) (options.brokerLoss?.has(id) === true ? lostByBroker : lost).push(`${handler}:${id}`);
      if (count > 0 && deadLetter !== undefined) violations.push(`${handler}: ${id} both handled and dead-lettered (${deadLetter.reason})`);
    }
  }
  if (lost.length > 0) violations.push(`${lost.length} confirmed event(s) lost (e.g. ${lost.slice(0, 3).join(', ')})`);
  if (options.inbox && duplicated > 0) violations.push(`${duplicated} duplicate side effect(s) with the idempotent inbox on`);
  return {
    messages: publishes.length,
    confirmed: confirmed.length,
    unconfirmed: publishes.length - confirmed.length,
    lost,
    lostByBroker,
    duplicated,
    deadLettered,
    violations,
  };
}
