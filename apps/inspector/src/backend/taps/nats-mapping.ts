import { originalSubjectOf, readWireMessage } from '@cloudbus/transport-nats/wire';
import type { MsgHdrs } from '@nats-io/transport-node';

import type { RawWire, TappedMessage } from '../captured-message.js';

/**
 * A JetStream message read by the tap, in neutral and raw form. How @cloudbus/transport-nats puts
 * events on NATS JetStream (stream and subject names, `ce-` headers, dead-letter subjects) comes
 * from that package's `./wire` entry.
 */
export function tappedFromNats(subject: string, headers: MsgHdrs | undefined, body: Uint8Array, deadLetterPrefix: string): TappedMessage {
  const wireHeaders: Record<string, string> = {};
  if (headers !== undefined) for (const key of headers.keys()) wireHeaders[key] = headers.get(key);
  // The neutral form exactly as the transport reads it (percent-decoding, invalid encodings marked).
  const message = readWireMessage(headers, body);
  const originalDestination = originalSubjectOf(deadLetterPrefix, subject);
  const wire: RawWire = { destination: subject, headers: wireHeaders, contentType: message.contentType ?? '' };
  return { message, wire, deadLetter: originalDestination !== undefined, originalDestination };
}
