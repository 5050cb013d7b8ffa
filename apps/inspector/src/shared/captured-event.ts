import type { TelemetryRecord } from './telemetry-record.js';

/**
 * What one captured message is:
 * - `event`: a CloudEvent of the application;
 * - `telemetry`: a `dev.cloudbus.telemetry` batch (handler outcomes);
 * - `dead-letter`: a message read from a dead-letter destination;
 * - `invalid`: a message that is not a CloudEvent.
 */
export type CaptureKind = 'event' | 'telemetry' | 'dead-letter' | 'invalid';

/** One line of the live stream: small, sent to the UI for every captured message. */
export interface EventSummary {
  /** Position in the capture, increasing, unique per inspector process. */
  readonly seq: number;
  readonly profileId: string;
  readonly kind: CaptureKind;
  /** When the inspector received it, ms since the epoch. */
  readonly receivedAt: number;
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly subject: string;
  /** The CloudEvent `time`, or empty. */
  readonly time: string;
  readonly correlationId: string;
  readonly causationId: string;
  /** Dead letters: handler that gave up and why. Empty otherwise. */
  readonly deadLetterHandler: string;
  readonly deadLetterReason: string;
  /** Beginning of the data as text, for free-text search. */
  readonly preview: string;
}

/** A message as it travelled: protocol headers / properties, content type and body. */
export interface WireForm {
  /** Exchange + routing key, subject or topic it arrived on. */
  readonly destination: string;
  /** Every protocol header or property, as text. */
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType: string;
  readonly body: string;
  readonly bodyEncoding: 'utf8' | 'base64';
}

/** Everything about one captured message, for the detail view. */
export interface EventDetail {
  readonly summary: EventSummary;
  /** Every context attribute and extension (not `data`), as received. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** The data when JSON or text; base64 text for binary data. */
  readonly data: unknown;
  readonly wire: WireForm;
  /** For `invalid` messages: why they are not a CloudEvent. */
  readonly error?: string | undefined;
  /** For telemetry batches: their records. */
  readonly telemetry?: readonly TelemetryRecord[] | undefined;
}
