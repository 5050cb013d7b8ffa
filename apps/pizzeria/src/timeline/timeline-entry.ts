/** One step of an order's flow, from the bus telemetry (GET /orders/:id). */
export interface TimelineEntry {
  /** ISO 8601. */
  readonly time: string;
  /** published, handler-started, handler-succeeded, handler-failed, retry-scheduled, dead-lettered. */
  readonly kind: string;
  /** The bus's service: the main bus or the kitchen bus. */
  readonly service: string;
  readonly eventType?: string;
  readonly eventId?: string;
  readonly causationId?: string;
  readonly handler?: string;
  readonly attempt?: number;
  readonly durationMs?: number;
  readonly error?: string;
  readonly delayMs?: number;
  readonly reason?: string;
}
