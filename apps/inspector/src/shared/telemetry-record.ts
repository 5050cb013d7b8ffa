/**
 * A bus telemetry record as the UI reads it: the shape of core's `TelemetryEvent`, restated here
 * so the renderer does not import core (which needs Node). The backend checks at compile time
 * that core's records fit it.
 */
export interface TelemetryRecord {
  readonly kind: 'published' | 'handler-started' | 'handler-succeeded' | 'handler-skipped' | 'handler-failed' | 'retry-scheduled' | 'dead-lettered' | 'saga';
  readonly time: number;
  readonly service: string;
  readonly eventId?: string | undefined;
  readonly eventType?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly causationId?: string | undefined;
  readonly source?: string | undefined;
  readonly subject?: string | undefined;
  readonly handler?: string | undefined;
  readonly attempt?: number | undefined;
  readonly attempts?: number | undefined;
  readonly nextAttempt?: number | undefined;
  readonly durationMs?: number | undefined;
  readonly delayMs?: number | undefined;
  readonly willRetry?: boolean | undefined;
  readonly reason?: string | undefined;
  /** `saga` records: the saga's stored name, the instance's key, what happened, and its detail. */
  readonly saga?: string | undefined;
  readonly key?: string | undefined;
  readonly action?: string | undefined;
  readonly detail?: string | undefined;
  /** `saga` records of action `updated`: the state saved, as JSON (at most 4,096 characters). */
  readonly state?: string | undefined;
  readonly error?: { readonly type: string; readonly message: string; readonly stack?: string | undefined } | undefined;
}
