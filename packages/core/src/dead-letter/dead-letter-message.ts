import { randomUUID } from 'node:crypto';

import { Extensions, type CloudEvent } from '../envelope/cloud-event.js';
import { InvalidCloudEventError } from '../errors.js';
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
