import type { EventBus, TelemetryEvent } from '@cloudbus/core';

import type { TimelineEntry } from './timeline-entry.js';

/** A dead letter seen by this process. */
export interface DeadLetterSummary {
  readonly time: string;
  readonly handler: string;
  readonly eventType: string | undefined;
  readonly eventId: string | undefined;
  readonly correlationId: string | undefined;
  readonly reason: string;
  readonly attempts: number;
  readonly error: string;
}

/** Options of {@link TimelineRecorder}. */
export interface TimelineRecorderOptions {
  /**
   * Flows (correlation ids) kept; the oldest are forgotten first.
   * @default 10_000
   */
  readonly maxFlows?: number;
  /**
   * Steps kept per flow.
   * @default 200
   */
  readonly maxEntriesPerFlow?: number;
}

/**
 * Records the telemetry of the pizzeria's buses per correlation id (an order's id), for the
 * timeline of GET /orders/:id, and keeps the dead letters seen. In memory, per process.
 */
export class TimelineRecorder {
  readonly #flows = new Map<string, TimelineEntry[]>();
  readonly #deadLetters: DeadLetterSummary[] = [];
  readonly #maxFlows: number;
  readonly #maxEntries: number;
  #deadLetterCount = 0;

  constructor(options: TimelineRecorderOptions = {}) {
    this.#maxFlows = options.maxFlows ?? 10_000;
    this.#maxEntries = options.maxEntriesPerFlow ?? 200;
  }

  /** Starts recording a bus's telemetry; returns the function that stops. */
  attach(bus: EventBus): () => void {
    return bus.telemetry.on(this.record);
  }

  /** The telemetry listener. */
  readonly record = (event: TelemetryEvent): void => {
    if (event.kind === 'dead-lettered') {
      this.#deadLetterCount++;
      this.#deadLetters.push({
        time: new Date(event.time).toISOString(),
        handler: event.handler,
        eventType: event.eventType,
        eventId: event.eventId,
        correlationId: event.correlationId,
        reason: event.reason,
        attempts: event.attempts,
        error: `${event.error.type}: ${event.error.message}`,
      });
      if (this.#deadLetters.length > 100) this.#deadLetters.shift();
    }
    const correlationId = event.correlationId;
    if (correlationId === undefined) return;
    let entries = this.#flows.get(correlationId);
    if (entries === undefined) {
      if (this.#flows.size >= this.#maxFlows) {
        const oldest = this.#flows.keys().next().value;
        if (oldest !== undefined) this.#flows.delete(oldest);
      }
      entries = [];
      this.#flows.set(correlationId, entries);
    }
    if (entries.length < this.#maxEntries) entries.push(toEntry(event));
  };

  /** The steps of one flow, in the order they happened. */
  timeline(correlationId: string): readonly TimelineEntry[] {
    return this.#flows.get(correlationId) ?? [];
  }

  /** Dead letters seen by this process: the count since start and the latest 100. */
  deadLetters(): { readonly count: number; readonly latest: readonly DeadLetterSummary[] } {
    return { count: this.#deadLetterCount, latest: [...this.#deadLetters] };
  }
}

function toEntry(event: TelemetryEvent): TimelineEntry {
  const base = {
    time: new Date(event.time).toISOString(),
    kind: event.kind,
    service: event.service,
    ...(event.eventType === undefined ? {} : { eventType: event.eventType }),
    ...(event.eventId === undefined ? {} : { eventId: event.eventId }),
    ...(event.causationId === undefined ? {} : { causationId: event.causationId }),
  };
  switch (event.kind) {
    case 'published':
      return base;
    case 'handler-started':
      return { ...base, handler: event.handler, attempt: event.attempt };
    case 'handler-succeeded':
      return { ...base, handler: event.handler, attempt: event.attempt, durationMs: event.durationMs };
    case 'handler-skipped':
      return { ...base, handler: event.handler, attempt: event.attempt, reason: event.reason };
    case 'handler-failed':
      return { ...base, handler: event.handler, attempt: event.attempt, durationMs: event.durationMs, error: `${event.error.type}: ${event.error.message}` };
    case 'retry-scheduled':
      return { ...base, handler: event.handler, attempt: event.nextAttempt, delayMs: event.delayMs };
    case 'dead-lettered':
      return { ...base, handler: event.handler, attempt: event.attempts, reason: event.reason, error: `${event.error.type}: ${event.error.message}` };
    case 'saga':
      return { ...base, handler: event.handler, reason: `${event.saga} ${event.action}${event.detail === undefined ? '' : ` (${event.detail})`}` };
  }
}
