import type { CloudEvent } from '../envelope/cloud-event.js';
import { decodeCloudEvent, toBinaryMode, withHeaders, type WireMessage } from '../envelope/wire-codec.js';
import { deadLetterExtensions, readDeadLetterRecord, type DeadLetterRecord } from './dead-letter-record.js';

/**
 * The dead letter for a received message: the original with the failure record added as
 * headers. A decodable event is kept in binary mode, so the record reads as CloudEvent extensions;
 * input that is not a CloudEvent keeps its bytes and headers exactly, with the record added.
 */
export function toDeadLetterMessage(original: WireMessage, cloudEvent: CloudEvent | undefined, record: DeadLetterRecord): WireMessage {
  const base = cloudEvent === undefined ? original : toBinaryMode(original, cloudEvent);
  return withHeaders(base, deadLetterExtensions(record));
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
    cloudEvent = decodeCloudEvent(stored.message);
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
