import type { TelemetryRecord } from '../shared/telemetry-record.js';

/** Latest time a record may carry: the largest a JavaScript `Date` holds (year 275760). */
const MAX_TIME = 8.64e15;
const MAX_TEXT = 4_096;
const MAX_ERROR_TEXT = 16_384;
/** Most records read from one telemetry batch; the rest are counted as rejected. */
export const MAX_RECORDS_PER_BATCH = 10_000;

const KINDS: ReadonlySet<TelemetryRecord['kind']> = new Set([
  'published',
  'handler-started',
  'handler-succeeded',
  'handler-skipped',
  'handler-failed',
  'retry-scheduled',
  'dead-lettered',
  'saga',
]);

const TEXT_FIELDS = ['eventId', 'eventType', 'correlationId', 'causationId', 'source', 'subject', 'handler', 'reason', 'saga', 'key', 'action', 'detail', 'state'] as const;
const COUNT_FIELDS = ['attempt', 'attempts', 'nextAttempt'] as const;
const DURATION_FIELDS = ['durationMs', 'delayMs'] as const;

function isText(value: unknown, max = MAX_TEXT): value is string {
  return typeof value === 'string' && value.length <= max && value.isWellFormed();
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_TIME;
}

/**
 * Reads one telemetry record off the wire, or undefined when any field is not what core's
 * `TelemetryEvent` says it is: a known kind, a time a `Date` can hold, text for every text field
 * (of bounded length), non-negative integers for attempts, finite non-negative durations, a
 * boolean `willRetry`, an error of text fields. The result is a new object holding the known
 * fields only.
 */
export function readTelemetryRecord(raw: unknown): TelemetryRecord | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const record = raw as Record<string, unknown>;
  const kind = record['kind'];
  const time = record['time'];
  const service = record['service'];
  if (typeof kind !== 'string' || !KINDS.has(kind as TelemetryRecord['kind'])) return undefined;
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0 || time > MAX_TIME) return undefined;
  if (!isText(service)) return undefined;
  const read: Record<string, unknown> = { kind, time, service };
  for (const name of TEXT_FIELDS) {
    const value = record[name];
    if (value === undefined) continue;
    if (!isText(value)) return undefined;
    read[name] = value;
  }
  for (const name of COUNT_FIELDS) {
    const value = record[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return undefined;
    read[name] = value;
  }
  for (const name of DURATION_FIELDS) {
    const value = record[name];
    if (value === undefined) continue;
    if (!isDuration(value)) return undefined;
    read[name] = value;
  }
  const willRetry = record['willRetry'];
  if (willRetry !== undefined) {
    if (typeof willRetry !== 'boolean') return undefined;
    read['willRetry'] = willRetry;
  }
  const error = record['error'];
  if (error !== undefined) {
    if (typeof error !== 'object' || error === null || Array.isArray(error)) return undefined;
    const { type, message, stack } = error as Record<string, unknown>;
    if (!isText(type) || !isText(message, MAX_ERROR_TEXT) || (stack !== undefined && !isText(stack, MAX_ERROR_TEXT))) return undefined;
    read['error'] = stack === undefined ? { type, message } : { type, message, stack };
  }
  return read as unknown as TelemetryRecord;
}

/** The valid records of a batch's `records` (at most {@link MAX_RECORDS_PER_BATCH}) and how many were rejected. */
export function readTelemetryRecords(records: unknown): { records: TelemetryRecord[]; rejected: number } {
  if (!Array.isArray(records)) return { records: [], rejected: 0 };
  const read: TelemetryRecord[] = [];
  let rejected = Math.max(0, records.length - MAX_RECORDS_PER_BATCH);
  for (let index = 0; index < Math.min(records.length, MAX_RECORDS_PER_BATCH); index++) {
    const record = readTelemetryRecord(records[index]);
    if (record === undefined) rejected++;
    else read.push(record);
  }
  return { records: read, rejected };
}
