import { readWireMessage, subjectForType, writeHeaders } from '@cloudbus/transport-nats';
import type { MsgHdrs } from '@nats-io/transport-node';

import type { RawWire, TappedMessage } from '../captured-message.js';

/**
 * How @cloudbus/transport-nats puts events on NATS JetStream, as the inspector reads it (keep in
 * step with that package's README): stream `CLOUDBUS` capturing `<subjectPrefix>.>`, subject
 * `<subjectPrefix>.<type tokens>`, attributes as headers `ce-<name>` percent-encoded,
 * `datacontenttype` as `Content-Type`, `Nats-Msg-Id` = CloudEvent id; dead letters in the stream
 * `CLOUDBUS_DLQ` under `<subjectPrefix>_dlq.<original subject>`.
 */
export const NatsDefaults = {
  stream: 'CLOUDBUS',
  deadLetterStream: 'CLOUDBUS_DLQ',
  subjectPrefix: 'cloudbus',
} as const;

/** The subject of a type, as the transport derives it. */
export const subjectOf = subjectForType;

/** A JetStream message read by the tap, in neutral and raw form. */
export function tappedFromNats(subject: string, headers: MsgHdrs | undefined, body: Uint8Array, deadLetterPrefix: string): TappedMessage {
  const wireHeaders: Record<string, string> = {};
  if (headers !== undefined) for (const key of headers.keys()) wireHeaders[key] = headers.get(key);
  // The neutral form exactly as the transport reads it (percent-decoding, invalid encodings marked).
  const message = readWireMessage(headers, body);
  const deadLetter = subject.startsWith(`${deadLetterPrefix}.`);
  const wire: RawWire = { destination: subject, headers: wireHeaders, contentType: message.contentType ?? '' };
  return { message, wire, deadLetter, originalDestination: deadLetter ? subject.slice(deadLetterPrefix.length + 1) : undefined };
}

/** NATS headers of a wire message (binary mode), as the transport writes them. */
export const writeNatsHeaders = writeHeaders;
