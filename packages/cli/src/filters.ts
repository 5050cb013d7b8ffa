import { DEAD_LETTER_REASONS, type DeadLetterFilter, type DeadLetterReason } from '@cloudbus/core';

import { UsageError } from './cli-errors.js';

/** The dead-letter filter flags, as parsed: a {@link DeadLetterFilter}'s fields, each as the text given. */
export type FilterFlags = { readonly [K in keyof DeadLetterFilter]?: string | undefined };

/** The `parseArgs` options of {@link FilterFlags}. */
export const FILTER_OPTIONS = {
  service: { type: 'string' },
  handler: { type: 'string' },
  type: { type: 'string' },
  reason: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
} as const satisfies Record<keyof DeadLetterFilter, { type: 'string' }>;

export const FILTER_USAGE = `Filters:
  --service S       dead letters of service S
  --handler H       of handler H (<service>.<handler> or <handler>)
  --type T          of events of type T
  --reason R        ${DEAD_LETTER_REASONS.join(', ')}
  --from TIME       dead-lettered at or after TIME (ISO 8601, or an age: 30m, 2h, 7d)
  --to TIME         dead-lettered before TIME`;

const AGE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A time flag: ISO 8601, or an age (`30m`) counted back from `now`. */
export function parseTime(flag: string, value: string, now: number = Date.now()): Date {
  const age = AGE.exec(value);
  if (age !== null) return new Date(now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]);
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`--${flag} takes an ISO 8601 time (2026-12-04T16:00:00Z) or an age (30m, 2h, 7d); got '${value}'.`);
  }
  return date;
}

/** The filter the flags describe; `undefined` when no filter flag is set. */
export function toFilter(flags: FilterFlags): DeadLetterFilter | undefined {
  const { service, handler, type, reason, from, to } = flags;
  if (reason !== undefined && !(DEAD_LETTER_REASONS as readonly string[]).includes(reason)) {
    throw new UsageError(`--reason must be one of ${DEAD_LETTER_REASONS.join(', ')}; got '${reason}'.`);
  }
  const filter: DeadLetterFilter = {
    ...(service === undefined ? {} : { service }),
    ...(handler === undefined ? {} : { handler }),
    ...(type === undefined ? {} : { type }),
    ...(reason === undefined ? {} : { reason: reason as DeadLetterReason }),
    ...(from === undefined ? {} : { from: parseTime('from', from) }),
    ...(to === undefined ? {} : { to: parseTime('to', to) }),
  };
  return Object.keys(filter).length === 0 ? undefined : filter;
}
