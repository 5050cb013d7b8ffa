import { Buffer } from 'node:buffer';

import type { WireMessage } from '@cloudbus/core';
import type { MsgHdrs } from '@nats-io/transport-node';

/**
 * The CloudEvents NATS binding, binary content mode: each attribute is a header `ce-<name>`
 * (read case-insensitively), its value percent-encoded as UTF-8; `datacontenttype` is the
 * `Content-Type` header, as it is (a media type is plain ASCII); the data is the payload. A structured-mode message is a `Content-Type`
 * starting with `application/cloudevents` and the JSON event as payload.
 */

/** Prefix of attribute headers. */
export const ATTRIBUTE_PREFIX = 'ce-';
/** Header holding `datacontenttype` (binary mode) or the event format (structured mode). */
export const CONTENT_TYPE_HEADER = 'Content-Type';
/**
 * Name given to a received attribute whose value is not valid percent-encoded UTF-8. It is not a
 * valid attribute name, so core refuses the message as `invalid` and dead-letters it; its value
 * names the attributes at fault, which keep their raw (undecoded) values.
 */
export const INVALID_ENCODING_MARKER = 'invalid-percent-encoding';

// Printable ASCII except space, '"' and '%' travel as they are; everything else is percent-encoded.
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7e]/;
const HEX = '0123456789ABCDEF';

/** Percent-encodes a header value: space, `"`, `%`, and anything outside printable ASCII, as `%XX` of its UTF-8 bytes. */
export function encodeHeaderValue(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f && code !== 0x22 && code !== 0x25) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, 'utf8')) out += '%' + HEX[byte >> 4]! + HEX[byte & 15]!;
  }
  return out;
}

/** Decodes a percent-encoded header value; undefined when the encoding or the UTF-8 it yields is invalid. */
export function decodeHeaderValue(value: string): string | undefined {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Size in bytes of the headers block NATS sends for `headers` (version line, `k: v` lines, blank line). */
export function headersByteLength(headers: MsgHdrs): number {
  let size = 12; // 'NATS/1.0\r\n' + final '\r\n'
  for (const key of headers.keys()) {
    for (const value of headers.values(key)) size += key.length + 4 + Buffer.byteLength(value);
  }
  return size;
}

/** Writes a wire message's attributes and content type into NATS headers (binary mode, or structured with no attributes). */
export function writeHeaders(message: WireMessage, headers: MsgHdrs): void {
  const attributes = message.headers;
  for (const name in attributes) headers.set(ATTRIBUTE_PREFIX + name, encodeHeaderValue(attributes[name]!));
  if (message.contentType !== undefined) headers.set(CONTENT_TYPE_HEADER, message.contentType);
}

/**
 * Reads a received NATS message back into the neutral form: only `ce-` headers, by attribute name
 * (lower-cased, prefix stripped, value decoded), and `Content-Type`. Every other header (`Nats-*`,
 * anything a foreign producer added) is left out. An attribute whose value does not decode keeps
 * its raw value, and the message gets an {@link INVALID_ENCODING_MARKER} entry so core rejects it.
 */
export function readWireMessage(headers: MsgHdrs | undefined, body: Uint8Array): WireMessage {
  if (headers === undefined) return { headers: {}, contentType: undefined, body };
  const attributes: Record<string, string> = {};
  let contentType: string | undefined;
  let invalid: string | undefined;
  for (const key of headers.keys()) {
    const lower = key.toLowerCase();
    if (lower === 'content-type') {
      contentType = headers.get(key);
      continue;
    }
    if (!lower.startsWith(ATTRIBUTE_PREFIX)) continue;
    const name = lower.slice(ATTRIBUTE_PREFIX.length);
    const raw = headers.get(key);
    const decoded = decodeHeaderValue(raw);
    if (decoded === undefined) {
      attributes[name] = raw;
      invalid = invalid === undefined ? name : `${invalid},${name}`;
    } else {
      attributes[name] = decoded;
    }
  }
  if (invalid !== undefined) attributes[INVALID_ENCODING_MARKER] = invalid;
  return { headers: attributes, contentType, body };
}
