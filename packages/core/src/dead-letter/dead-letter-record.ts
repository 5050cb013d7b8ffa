import type { CloudEvent, ExtensionValue } from '../envelope/cloud-event.js';
import { ReceiveLimitError, type ErrorRecord } from '../errors.js';
import { MAX_BOOKKEEPING_NAME, safeIsoTime } from '../transport/bookkeeping.js';
import type { Delivery } from '../transport/transport.js';
import { redactCredentials } from './redact-credentials.js';
import { handlerFrames } from './handler-frames.js';

/**
 * Why a message was dead-lettered. Handler outcomes and undeliverable input are kept apart:
 * - `retries-exhausted`: the handler failed on every attempt the retry policy allowed;
 * - `non-retryable`: the handler threw a `PermanentError`, or an error its `deadLetterOn` /
 *   `retryOn` options say not to retry;
 * - `invalid`: the message is not a valid CloudEvent 1.0 (or is over the size limit);
 * - `unknown-type`: a valid CloudEvent of a type this subscription does not handle;
 * - `undecodable`: its data could not be turned into the event class;
 * - `unsupported-version`: its `dataversion` is newer than the class, or has no upcaster.
 */
export type DeadLetterReason =
  | 'retries-exhausted'
  | 'non-retryable'
  | 'invalid'
  | 'unknown-type'
  | 'undecodable'
  | 'unsupported-version';

/**
 * The failure record a dead letter carries, as CloudEvent extensions (binary mode headers) next to
 * the original event. Extension names, all lower case per the spec:
 * `deadletterreason`, `deadletterhandler`, `deadletterattempts`, `deadlettererrortype`,
 * `deadlettererror`, `deadletterstack`, `deadlettersource`, `deadletterfirsttime`, `deadlettertime`, and when they apply
 * `deadletterignored`, `deadletterlimit`, `deadlettertrimmed`.
 */
export interface DeadLetterRecord {
  readonly reason: DeadLetterReason;
  /** The subscription that gave up, `<service>.<handler>`. */
  readonly handler: string;
  /** Calls of the handler made (0 for input that never reached it). */
  readonly attempts: number;
  readonly error: ErrorRecord;
  /** Where the original was published (routing key, subject or topic). On the wire: `deadlettersource`. */
  readonly destination: string;
  /** @deprecated The old name of {@link destination}, still filled in when a record is read. */
  readonly source?: string;
  /** First delivery to the subscription, ISO 8601. */
  readonly firstAttemptTime: string;
  /** When it was dead-lettered, ISO 8601. */
  readonly time: string;
  /**
   * Bookkeeping values read off the wire that were ignored as malformed or out of range (attempt,
   * first-attempt time, destination, ...), one note each, separated by `; `. Absent when none were.
   */
  readonly ignored?: string | undefined;
  /** The receive limit the message broke (`maxExtensions`, `maxHeaderBytes`, ...), for reason `invalid`. */
  readonly limit?: string | undefined;
  /**
   * What was cut from the original so that the dead letter fits the broker's limits (headers by
   * name, or the body), and how many bytes. Absent when the dead letter is the original in full.
   */
  readonly trimmed?: string | undefined;
}

/** The extension names of the failure record, by field. */
export const DeadLetterExtensions = {
  reason: 'deadletterreason',
  handler: 'deadletterhandler',
  attempts: 'deadletterattempts',
  errorType: 'deadlettererrortype',
  error: 'deadlettererror',
  stack: 'deadletterstack',
  /** Where the original was published; the wire name predates the field's. */
  destination: 'deadlettersource',
  firstAttemptTime: 'deadletterfirsttime',
  time: 'deadlettertime',
  ignored: 'deadletterignored',
  limit: 'deadletterlimit',
  trimmed: 'deadlettertrimmed',
} as const;

const MAX_MESSAGE = 1_000;
const MAX_FRAMES = 8;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/** Makes a string safe for a header: no control characters, no URL password, bounded length. */
export function headerSafe(text: string, max: number): string {
  const flat = redactCredentials(text.replace(CONTROL, ' ')).trim();
  const wellFormed = flat.isWellFormed() ? flat : flat.toWellFormed();
  return wellFormed.length > max ? `${wellFormed.slice(0, max - 1)}…` : wellFormed;
}

/**
 * Records an error for telemetry, dead letters and logs: type, message, and the top frames of the
 * stack (cloudbus's own left out); a password in a URL is replaced by `***`.
 */
export function errorRecordOf(error: unknown): ErrorRecord {
  if (error instanceof Error) {
    const frames = handlerFrames(error.stack ?? '').slice(0, MAX_FRAMES);
    const record = { type: headerSafe(error.name, 100), message: headerSafe(error.message, MAX_MESSAGE) };
    return frames.length === 0 ? record : { ...record, stack: headerSafe(frames.join(' | '), 2_000) };
  }
  return { type: typeof error, message: headerSafe(String(error), MAX_MESSAGE) };
}

/** The record as extension attributes. */
export function deadLetterExtensions(record: DeadLetterRecord): Record<string, ExtensionValue> {
  const extensions: Record<string, ExtensionValue> = {
    [DeadLetterExtensions.reason]: record.reason,
    [DeadLetterExtensions.handler]: record.handler,
    [DeadLetterExtensions.attempts]: record.attempts,
    [DeadLetterExtensions.errorType]: record.error.type,
    [DeadLetterExtensions.error]: record.error.message,
    [DeadLetterExtensions.destination]: record.destination ?? record.source ?? '',
    [DeadLetterExtensions.firstAttemptTime]: record.firstAttemptTime,
    [DeadLetterExtensions.time]: record.time,
  };
  if (record.error.stack !== undefined) extensions[DeadLetterExtensions.stack] = record.error.stack;
  if (record.ignored !== undefined) extensions[DeadLetterExtensions.ignored] = record.ignored;
  if (record.limit !== undefined) extensions[DeadLetterExtensions.limit] = record.limit;
  if (record.trimmed !== undefined) extensions[DeadLetterExtensions.trimmed] = record.trimmed;
  return extensions;
}

/**
 * Reads the failure record off a dead letter's attributes (a decoded CloudEvent or raw headers).
 * Undefined when they hold none.
 */
export function readDeadLetterRecord(attributes: CloudEvent | Readonly<Record<string, unknown>>): DeadLetterRecord | undefined {
  const get = (name: string): string | undefined => {
    const value = (attributes as Record<string, unknown>)[name];
    return value === undefined ? undefined : String(value);
  };
  const reason = get(DeadLetterExtensions.reason);
  if (reason === undefined) return undefined;
  const stack = get(DeadLetterExtensions.stack);
  const ignored = get(DeadLetterExtensions.ignored);
  const limit = get(DeadLetterExtensions.limit);
  const trimmed = get(DeadLetterExtensions.trimmed);
  const destination = get(DeadLetterExtensions.destination) ?? '';
  return {
    reason: reason as DeadLetterReason,
    handler: get(DeadLetterExtensions.handler) ?? '',
    attempts: Number(get(DeadLetterExtensions.attempts) ?? 0),
    error: {
      type: get(DeadLetterExtensions.errorType) ?? '',
      message: get(DeadLetterExtensions.error) ?? '',
      ...(stack === undefined ? {} : { stack }),
    },
    destination,
    source: destination,
    firstAttemptTime: get(DeadLetterExtensions.firstAttemptTime) ?? '',
    time: get(DeadLetterExtensions.time) ?? '',
    ...(ignored === undefined ? {} : { ignored }),
    ...(limit === undefined ? {} : { limit }),
    ...(trimmed === undefined ? {} : { trimmed }),
  };
}

/**
 * The failure record for a delivery being given up on. Every value taken from the delivery is made
 * safe for a header: the transport read them off the wire.
 */
export function deadLetterRecordOf(
  delivery: Pick<Delivery, 'destination' | 'firstAttemptAt' | 'ignored'>,
  failure: { readonly reason: DeadLetterReason; readonly handler: string; readonly attempts: number; readonly error: unknown },
  now: number = Date.now(),
): DeadLetterRecord {
  const ignored = delivery.ignored;
  const error = failure.error;
  return {
    reason: failure.reason,
    handler: failure.handler,
    attempts: failure.attempts,
    error: errorRecordOf(error),
    destination: headerSafe(typeof delivery.destination === 'string' ? delivery.destination : '', MAX_BOOKKEEPING_NAME),
    firstAttemptTime: safeIsoTime(delivery.firstAttemptAt, now),
    time: new Date(now).toISOString(),
    ...(ignored === undefined || ignored.length === 0 ? {} : { ignored: headerSafe(ignored.join('; '), 2_000) }),
    ...(error instanceof ReceiveLimitError ? { limit: error.limit } : {}),
  };
}
