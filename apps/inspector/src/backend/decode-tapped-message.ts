import { Buffer, isUtf8 } from 'node:buffer';

import {
  decodeCloudEvent,
  isJsonContentType,
  readDeadLetterRecord,
  TELEMETRY_EVENT_TYPE,
  type CloudEvent,
  type TelemetryBatch,
  type TelemetryEvent,
} from '@cloudbus/core';

import type { CaptureKind, EventSummary, WireForm } from '../shared/captured-event.js';
import type { TelemetryRecord } from '../shared/telemetry-record.js';
import type { CapturedMessage, TappedMessage } from './captured-message.js';
import { readTelemetryRecords } from './read-telemetry-record.js';

// Compile-time check: every record core emits fits the UI's reading of it.
const fitsUi: (record: TelemetryEvent) => TelemetryRecord = (record) => record;
void fitsUi;

const PREVIEW = 200;

function text(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

function previewOf(message: TappedMessage): string {
  const { body, contentType } = message.message;
  if (body.byteLength === 0 || (contentType !== undefined && !isJsonContentType(contentType) && !contentType.startsWith('text/') && !contentType.startsWith('application/cloudevents'))) return '';
  // The first bytes only: cheap, and enough for free-text search.
  return Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, PREVIEW)).toString('utf8');
}

function telemetryOf(event: CloudEvent): { records: TelemetryRecord[]; rejected: number } | undefined {
  const data = event.data as Partial<TelemetryBatch> | undefined;
  if (typeof data !== 'object' || data === null || !Array.isArray(data.records)) return undefined;
  return readTelemetryRecords(data.records);
}

/**
 * Decodes what a tap received into a captured message: a CloudEvent (with core's
 * `decodeCloudEvent`), a telemetry batch, a dead letter (with its failure record), or an invalid
 * message kept with its error. Never throws.
 */
export function decodeTappedMessage(tapped: TappedMessage, seq: number, profileId: string, receivedAt: number): CapturedMessage {
  let cloudEvent: CloudEvent | undefined;
  let error: string | undefined;
  try {
    cloudEvent = decodeCloudEvent(tapped.message);
  } catch (cause) {
    error = cause instanceof Error ? cause.message : String(cause);
  }
  const headers = tapped.message.headers;
  const record = tapped.deadLetter ? readDeadLetterRecord(cloudEvent ?? headers) : undefined;
  let kind: CaptureKind;
  let telemetry: TelemetryRecord[] | undefined;
  let telemetryDropped = 0;
  if (tapped.deadLetter) kind = 'dead-letter';
  else if (cloudEvent === undefined) kind = 'invalid';
  else if (cloudEvent.type === TELEMETRY_EVENT_TYPE) {
    kind = 'telemetry';
    const read = telemetryOf(cloudEvent);
    telemetry = read?.records;
    if (read !== undefined && read.rejected > 0) error = `${read.rejected} telemetry record(s) were not valid and were ignored.`;
    const data: unknown = cloudEvent.data;
    const dropped = typeof data === 'object' && data !== null ? (data as { dropped?: unknown }).dropped : undefined;
    if (typeof dropped === 'number' && Number.isSafeInteger(dropped) && dropped > 0) telemetryDropped = dropped;
  } else kind = 'event';
  const attributes: Readonly<Record<string, unknown>> = cloudEvent ?? headers;
  const summary: EventSummary = {
    seq,
    profileId,
    kind,
    receivedAt,
    id: text(attributes['id']),
    type: text(attributes['type']),
    source: text(attributes['source']),
    subject: text(attributes['subject']),
    time: text(attributes['time']),
    correlationId: text(attributes['correlationid']),
    causationId: text(attributes['causationid']),
    deadLetterHandler: record?.handler ?? '',
    deadLetterReason: record?.reason ?? '',
    preview: previewOf(tapped),
  };
  return {
    summary,
    cloudEvent,
    wire: tapped.wire,
    body: tapped.message.body,
    error,
    telemetry,
    telemetryDropped,
    originalDestination: tapped.deadLetter ? (tapped.originalDestination ?? record?.destination) : undefined,
  };
}

/** The body of a message for the wire view: UTF-8 text when it is, base64 otherwise. */
export function bodyForm(body: Uint8Array): Pick<WireForm, 'body' | 'bodyEncoding'> {
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (isUtf8(buffer)) return { body: buffer.toString('utf8'), bodyEncoding: 'utf8' };
  return { body: buffer.toString('base64'), bodyEncoding: 'base64' };
}
