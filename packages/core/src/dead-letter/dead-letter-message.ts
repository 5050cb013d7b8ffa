import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';

import { Extensions, type CloudEvent } from '../envelope/cloud-event.js';
import { InvalidCloudEventError } from '../errors.js';
import {
  decodeCloudEvent,
  DEFAULT_RECEIVE_LIMITS,
  HEADER_OVERHEAD_BYTES,
  toBinaryMode,
  withHeaders,
  wireSize,
  type ReceiveLimits,
  type WireMessage,
} from '../envelope/wire-codec.js';
import { deadLetterExtensions, headerSafe, readDeadLetterRecord, type DeadLetterRecord } from './dead-letter-record.js';

/** What a dead letter must fit: the transport's limits. */
export interface DeadLetterLimits {
  /** Largest message, body and headers (as `wireSize` counts them). */
  readonly maxMessageBytes: number;
  /** Largest total of header bytes (see `TransportCapabilities.maxHeaderBytes`); unset: no limit of its own. */
  readonly maxHeaderBytes?: number | undefined;
}

/** Header bytes of a message, in UTF-8, each header counting {@link HEADER_OVERHEAD_BYTES} more for its framing. */
export function headerBytes(message: WireMessage): number {
  let bytes = message.contentType === undefined ? 0 : Buffer.byteLength(message.contentType) + HEADER_OVERHEAD_BYTES;
  const headers = message.headers;
  for (const name in headers) bytes += Buffer.byteLength(name) + Buffer.byteLength(headers[name]!) + HEADER_OVERHEAD_BYTES;
  return bytes;
}

function fits(message: WireMessage, limits: DeadLetterLimits): boolean {
  return wireSize(message) <= limits.maxMessageBytes && (limits.maxHeaderBytes === undefined || headerBytes(message) <= limits.maxHeaderBytes);
}

/**
 * The dead letter for a received message: the original with the failure record added as
 * headers. A decodable event is kept in binary mode, so the record reads as CloudEvent extensions;
 * input that is not a CloudEvent keeps its bytes and headers exactly, with the record added.
 *
 * With `limits`, a dead letter that would not fit them is trimmed: when only the body makes it too
 * large, the body goes and the headers stay; otherwise the original's headers go, largest first,
 * until it fits (the body is kept if it fits), then the body if still needed. The record's
 * `trimmed` field (`deadlettertrimmed`) names what was cut. The record itself is always kept.
 */
export function toDeadLetterMessage(original: WireMessage, cloudEvent: CloudEvent | undefined, record: DeadLetterRecord, limits?: DeadLetterLimits): WireMessage {
  const base = cloudEvent === undefined ? original : toBinaryMode(original, cloudEvent);
  const full = withHeaders(base, deadLetterExtensions(record));
  if (limits === undefined || fits(full, limits)) return full;
  return trimmed(base, record, limits);
}

const DEAD_LETTER_READ_LIMITS: ReceiveLimits = { ...DEFAULT_RECEIVE_LIMITS, maxExtensions: Number.MAX_SAFE_INTEGER, maxHeaderBytes: Number.MAX_SAFE_INTEGER };

/** Most header names listed in a `deadlettertrimmed` note. */
const MAX_TRIMMED_NAMES = 20;

function trimmed(base: WireMessage, record: DeadLetterRecord, limits: DeadLetterLimits): WireMessage {
  const headers: Record<string, string> = { ...base.headers };
  const bySize = Object.keys(headers).sort((a, b) => headers[b]!.length + b.length - (headers[a]!.length + a.length));
  const cut: string[] = [];
  let cutBytes = 0;
  let body = base.body;
  let bodyCut = 0;
  const attempt = (): WireMessage => {
    const note =
      (cut.length === 0 ? '' : `headers ${cut.slice(0, MAX_TRIMMED_NAMES).join(',')}${cut.length > MAX_TRIMMED_NAMES ? `,…(${cut.length} in all)` : ''} (${cutBytes} bytes)`) +
      (bodyCut === 0 ? '' : `${cut.length === 0 ? '' : '; '}body (${bodyCut} bytes)`);
    return withHeaders({ headers, contentType: base.contentType, body }, deadLetterExtensions({ ...record, trimmed: headerSafe(note, 2_000) }));
  };
  const headersFit = (message: WireMessage): boolean => limits.maxHeaderBytes === undefined || headerBytes(message) <= limits.maxHeaderBytes;
  const dropBody = (): void => {
    bodyCut = body.byteLength;
    body = new Uint8Array(0);
  };
  let message = attempt();
  // Within the header limit and over the size limit only through the body: the body goes, the headers stay.
  if (headersFit(message) && wireSize(message) - body.byteLength <= limits.maxMessageBytes) {
    dropBody();
    return attempt();
  }
  // Otherwise the largest headers go, one by one (the rest at once past MAX_TRIMMED_NAMES), then the body if still needed.
  for (const name of bySize) {
    if (fits(message, limits)) return message;
    if (headersFit(message) && body.byteLength > 0) {
      dropBody();
      message = attempt();
      if (fits(message, limits)) return message;
    }
    cutBytes += Buffer.byteLength(name) + Buffer.byteLength(headers[name]!);
    cut.push(name);
    delete headers[name];
    if (cut.length <= MAX_TRIMMED_NAMES || cut.length === bySize.length) message = attempt();
  }
  if (fits(message, limits) || body.byteLength === 0) return message;
  dropBody();
  return attempt();
}

/**
 * The CloudEvent that replays a dead letter: the original event without the failure record,
 * with a new `id` and `time`, `causationid` pointing at the original event, and `replayfor`
 * naming the handler that gave up, so only that handler runs it again (the other subscriptions of
 * its type ack it untouched). Publish it to the dead letter's original destination.
 *
 * The new `id` keeps brokers that de-duplicate by id (JetStream) from dropping the replay as a
 * re-publish. The idempotent inbox keys a replay by the original event's id ({@link inboxKey}),
 * so replaying the same dead letter twice still runs the handler once. A replay of a replay
 * points at the first original.
 */
export function prepareReplay(deadLetter: Pick<DeadLetter, 'cloudEvent' | 'record'>, now: Date = new Date()): CloudEvent {
  const original = deadLetter.cloudEvent;
  if (original === undefined || deadLetter.record === undefined) {
    throw new InvalidCloudEventError('Only a dead letter holding a CloudEvent and its failure record can be replayed.');
  }
  const earlierCause = original[Extensions.causationId];
  const replayedBefore = original[Extensions.replayFor] !== undefined && typeof earlierCause === 'string' ? earlierCause : undefined;
  const attributes: Record<string, unknown> = {};
  for (const name in original) {
    if (!name.startsWith('deadletter')) attributes[name] = original[name];
  }
  return {
    ...(attributes as unknown as CloudEvent),
    id: randomUUID(),
    time: now.toISOString(),
    causationid: replayedBefore !== undefined ? replayedBefore : original.id,
    [Extensions.replayFor]: deadLetter.record.handler,
  };
}

/** A dead letter read back from the broker. */
export interface DeadLetter {
  /** The failure record; undefined for a message stored without one. */
  readonly record: DeadLetterRecord | undefined;
  /** The original event, when it was a valid CloudEvent. */
  readonly cloudEvent: CloudEvent | undefined;
  /** The stored message as it is. */
  readonly message: WireMessage;
  /** Where the original was published. */
  readonly destination: string;
}

/** Reads a stored dead letter: its failure record and, where it was one, the original CloudEvent. */
export function decodeDeadLetter(stored: { readonly message: WireMessage; readonly destination: string }): DeadLetter {
  let cloudEvent: CloudEvent | undefined;
  try {
    // A dead letter carries its record on top of the original: the header limits of receiving do
    // not apply (it was bounded by the transport's limits when it was written).
    cloudEvent = decodeCloudEvent(stored.message, DEAD_LETTER_READ_LIMITS);
  } catch {
    cloudEvent = undefined;
  }
  return {
    record: readDeadLetterRecord(stored.message.headers),
    cloudEvent,
    message: stored.message,
    destination: stored.destination,
  };
}
