import type { WireMessage } from '@cloudbus/core';
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

const HEX = '0123456789ABCDEF';
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7e]/;

/** The subject of a type: each dot-separated token kept when `[A-Za-z0-9_-]+`, percent-encoded otherwise. */
export function subjectOf(prefix: string, type: string): string {
  let subject = prefix;
  for (const part of type.split('.')) {
    if (/^[A-Za-z0-9_-]+$/.test(part)) subject += '.' + part;
    else if (part === '') subject += '.%';
    else {
      let token = '';
      for (const char of part) {
        if (/[A-Za-z0-9_-]/.test(char)) token += char;
        else for (const byte of Buffer.from(char, 'utf8')) token += '%' + HEX[byte >> 4]! + HEX[byte & 15]!;
      }
      subject += '.' + token;
    }
  }
  return subject;
}

/** Percent-encodes a header value as the binding asks. */
export function encodeHeaderValue(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f && code !== 0x22 && code !== 0x25) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += '%' + HEX[byte >> 4]! + HEX[byte & 15]!;
  }
  return out;
}

function decodeHeaderValue(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** A JetStream message read by the tap, in neutral and raw form. */
export function tappedFromNats(subject: string, headers: MsgHdrs | undefined, body: Uint8Array, deadLetterPrefix: string): TappedMessage {
  const attributes: Record<string, string> = {};
  const wireHeaders: Record<string, string> = {};
  let contentType: string | undefined;
  if (headers !== undefined) {
    for (const key of headers.keys()) {
      const value = headers.get(key);
      wireHeaders[key] = value;
      const lower = key.toLowerCase();
      if (lower === 'content-type') contentType = value;
      else if (lower.startsWith('ce-')) attributes[lower.slice(3)] = decodeHeaderValue(value);
    }
  }
  const deadLetter = subject.startsWith(`${deadLetterPrefix}.`);
  const wire: RawWire = { destination: subject, headers: wireHeaders, contentType: contentType ?? '' };
  const message: WireMessage = { headers: attributes, contentType, body };
  return { message, wire, deadLetter, originalDestination: deadLetter ? subject.slice(deadLetterPrefix.length + 1) : undefined };
}

/** NATS headers of a wire message (binary mode). */
export function writeNatsHeaders(message: WireMessage, headers: MsgHdrs): void {
  for (const name in message.headers) headers.set(`ce-${name}`, encodeHeaderValue(message.headers[name]!));
  if (message.contentType !== undefined) headers.set('Content-Type', message.contentType);
}
