import type { DeadLetterReason } from '../dead-letter/dead-letter-record.js';
import type { ErrorRecord } from '../errors.js';

interface TelemetryBase {
  /** When it happened, ms since the epoch. */
  readonly time: number;
  /** The service whose bus reports it. */
  readonly service: string;
  /** The CloudEvent concerned (absent for input that was not a CloudEvent). */
  readonly eventId?: string;
  readonly eventType?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
}

/** An event was accepted by the transport. */
export interface PublishedTelemetry extends TelemetryBase {
  readonly kind: 'published';
  readonly source: string;
  readonly subject?: string;
}

/** A handler was called. */
export interface HandlerStartedTelemetry extends TelemetryBase {
  readonly kind: 'handler-started';
  readonly handler: string;
  readonly attempt: number;
}

/** A handler returned; the event is acked. */
export interface HandlerSucceededTelemetry extends TelemetryBase {
  readonly kind: 'handler-succeeded';
  readonly handler: string;
  readonly attempt: number;
  readonly durationMs: number;
}

/** Middleware did not call the handler (the idempotency inbox saw the event before); the event is acked. */
export interface HandlerSkippedTelemetry extends TelemetryBase {
  readonly kind: 'handler-skipped';
  readonly handler: string;
  readonly attempt: number;
  /** Why, e.g. `duplicate`. */
  readonly reason: string;
}

/** A handler threw. A `retry-scheduled` or `dead-lettered` record follows. */
export interface HandlerFailedTelemetry extends TelemetryBase {
  readonly kind: 'handler-failed';
  readonly handler: string;
  readonly attempt: number;
  readonly durationMs: number;
  readonly error: ErrorRecord;
  readonly willRetry: boolean;
}

/** The event goes back to the broker, to be redelivered after `delayMs`. */
export interface RetryScheduledTelemetry extends TelemetryBase {
  readonly kind: 'retry-scheduled';
  readonly handler: string;
  readonly nextAttempt: number;
  readonly delayMs: number;
}

/** The event (or input that was not one) was stored in the dead-letter destination. */
export interface DeadLetteredTelemetry extends TelemetryBase {
  readonly kind: 'dead-lettered';
  readonly handler: string;
  readonly attempts: number;
  readonly reason: DeadLetterReason;
  readonly error: ErrorRecord;
}

/** Something happened to a saga instance (see `SagaAction`); `eventId` is the event being handled. */
export interface SagaTelemetry extends TelemetryBase {
  readonly kind: 'saga';
  /** The saga's stored name. */
  readonly saga: string;
  /** The instance's correlation key. */
  readonly key: string;
  readonly action: 'started' | 'updated' | 'completed' | 'conflict' | 'not-found' | 'duplicate' | 'ignored-completed' | 'timeout-requested' | 'timeout-dropped';
  /** The subscription handling the event. */
  readonly handler: string;
  /** `timeout-dropped`: stale, completed or missing; `not-found`: the policy; `timeout-requested`: the due time. */
  readonly detail?: string;
  /**
   * `updated`: the state just saved, as JSON (credentials in URLs redacted, at most
   * {@link SAGA_STATE_PREVIEW_CHARS} characters, a longer one cut and ending in `…`).
   */
  readonly state?: string;
}

/** Longest saga state a `saga` telemetry record carries, in characters. */
export const SAGA_STATE_PREVIEW_CHARS = 4_096;

/** What the bus reports about each event and handler, for apps, metrics and the inspector. */
export type TelemetryEvent =
  | PublishedTelemetry
  | HandlerStartedTelemetry
  | HandlerSucceededTelemetry
  | HandlerSkippedTelemetry
  | HandlerFailedTelemetry
  | RetryScheduledTelemetry
  | DeadLetteredTelemetry
  | SagaTelemetry;

/** Receives telemetry. Called synchronously on the hot path: keep it quick, do not throw. */
export type TelemetryListener = (event: TelemetryEvent) => void;

/** The bus's telemetry stream. Costs nothing while nobody listens. */
export class Telemetry {
  readonly #listeners = new Set<TelemetryListener>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  /** True while someone listens: the bus builds telemetry records only then. */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

  /** Adds a listener; returns the function that removes it. */
  on(listener: TelemetryListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Hands a record to every listener; a listener that throws is reported, not propagated. */
  emit(event: TelemetryEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
