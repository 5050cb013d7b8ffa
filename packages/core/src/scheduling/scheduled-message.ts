import { randomUUID } from 'node:crypto';

import { SPEC_VERSION, type CloudEvent } from '../envelope/cloud-event.js';
import { validateCloudEvent } from '../envelope/validation.js';
import { ConfigurationError, InvalidCloudEventError } from '../errors.js';

/** When a scheduled event is due: a time, or a delay from now. */
export type ScheduleTime =
  | {
      /** The time it is due: a `Date`, an ISO 8601 string, or ms since the epoch. */
      readonly at: Date | string | number;
    }
  | {
      /** Due this many ms from now (the bus clock's now). */
      readonly delayMs: number;
    };

/** Extension attributes of a schedule carrier. */
export const ScheduleExtensions = {
  /** When the carried event is due, ISO 8601. */
  dueAt: 'scheduledue',
} as const;

/** The CloudEvent type of the carriers of one service's schedules: only its scheduler subscribes to it. */
export function carrierTypeOf(service: string): string {
  return `io.cloudbus.scheduled.${service}`;
}

/** The name of a service's scheduler subscription. */
export function schedulerSubscriptionOf(service: string): string {
  return `${service}.cloudbus-scheduler`;
}

/** Longest time the bus will schedule ahead: about 31 years. */
const MAX_AHEAD_MS = 1_000_000_000_000;

/** The due time of `when`, ms since the epoch, against `now`. Throws a ConfigurationError for an invalid one. */
export function dueTimeOf(when: ScheduleTime, now: number): number {
  let due: number;
  if (typeof when !== 'object' || when === null) throw new ConfigurationError('schedule: pass { at } or { delayMs }.');
  if ('delayMs' in when) {
    if (typeof when.delayMs !== 'number' || !Number.isFinite(when.delayMs) || when.delayMs < 0) {
      throw new ConfigurationError(`schedule: delayMs must be a finite number >= 0, got ${String(when.delayMs)}.`);
    }
    due = now + Math.ceil(when.delayMs);
  } else if ('at' in when) {
    const at = when.at;
    due = at instanceof Date ? at.getTime() : typeof at === 'string' ? Date.parse(at) : at;
    if (typeof due !== 'number' || !Number.isFinite(due)) throw new ConfigurationError(`schedule: 'at' is not a valid time: ${String(at)}.`);
    due = Math.ceil(due);
  } else {
    throw new ConfigurationError('schedule: pass { at } or { delayMs }.');
  }
  if (due - now > MAX_AHEAD_MS) throw new ConfigurationError(`schedule: ${new Date(due).toISOString()} is too far ahead.`);
  return due;
}

/**
 * The CloudEvent that carries a scheduled event to the service's scheduler subscription, where it
 * waits (redelivered later, by the broker) until due. Its id is the schedule id.
 */
export function buildCarrier(inner: CloudEvent, dueAt: number, service: string, source: string, scheduleId: string = randomUUID()): CloudEvent {
  const carrier: Record<string, unknown> = {
    specversion: SPEC_VERSION,
    id: scheduleId,
    source,
    type: carrierTypeOf(service),
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    subject: inner.type,
    [ScheduleExtensions.dueAt]: new Date(dueAt).toISOString(),
    data: inner,
  };
  if (inner.correlationid !== undefined) carrier['correlationid'] = inner.correlationid;
  if (inner.causationid !== undefined) carrier['causationid'] = inner.causationid;
  if (inner.traceparent !== undefined) carrier['traceparent'] = inner.traceparent;
  return carrier as unknown as CloudEvent;
}

/** What a carrier holds. */
export interface Carried {
  readonly scheduleId: string;
  readonly dueAt: number;
  readonly event: CloudEvent;
}

/** Reads a carrier taken off the wire; throws `InvalidCloudEventError` for one that is not well formed. */
export function readCarrier(carrier: CloudEvent): Carried {
  const due = carrier[ScheduleExtensions.dueAt];
  const dueAt = typeof due === 'string' ? Date.parse(due) : NaN;
  if (!Number.isFinite(dueAt)) throw new InvalidCloudEventError(`A scheduled event carrier needs a valid '${ScheduleExtensions.dueAt}' time.`, ScheduleExtensions.dueAt);
  const inner = carrier.data;
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner) || inner instanceof Uint8Array) {
    throw new InvalidCloudEventError('A scheduled event carrier holds the scheduled CloudEvent as its JSON data.', 'data');
  }
  validateCloudEvent(inner as Record<string, unknown>);
  return { scheduleId: carrier.id, dueAt, event: inner as CloudEvent };
}
