import type { CloudEvent, WireMessage } from '@cloudbus/core';

import type { EventSummary, WireForm } from '../shared/captured-event.js';
import type { TelemetryRecord } from '../shared/telemetry-record.js';

/** The raw protocol form of a message, without its body (kept as bytes; rendered only for the detail view). */
export type RawWire = Omit<WireForm, 'body' | 'bodyEncoding'>;

/** A message as a tap hands it over: the neutral wire message and its raw protocol form. */
export interface TappedMessage {
  /** Headers by attribute name (binding prefix stripped), content type and body, as core reads them. */
  readonly message: WireMessage;
  /** The raw protocol form, for the detail view. */
  readonly wire: RawWire;
  /** True when read from the dead-letter destination. */
  readonly deadLetter: boolean;
  /**
   * Dead letters: where the original was published (routing key, subject or topic), when the
   * broker mapping knows it; core's `deadlettersource` extension is used otherwise.
   */
  readonly originalDestination?: string | undefined;
}

/** One captured message, kept in the ring buffer. */
export interface CapturedMessage {
  readonly summary: EventSummary;
  readonly cloudEvent: CloudEvent | undefined;
  readonly wire: RawWire;
  /** The body bytes as received. */
  readonly body: Uint8Array;
  readonly error: string | undefined;
  readonly telemetry: readonly TelemetryRecord[] | undefined;
  /** Telemetry batches: records the bus dropped before this batch (its buffer was full). */
  readonly telemetryDropped: number;
  /** Dead letters: where to replay to. */
  readonly originalDestination: string | undefined;
}
