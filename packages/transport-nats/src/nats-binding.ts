import { Buffer } from 'node:buffer';

import type { WireMessage } from '@cloudbus/core/transport';
import { MsgHdrsImpl, MsgImpl, type Msg, type MsgHdrs } from '@nats-io/transport-node';

/**
 * The CloudEvents NATS binding, binary content mode: each attribute is a header `ce-<name>`
 * (read case-insensitively), its value percent-encoded as UTF-8; `datacontenttype` is the header
 * `ce-datacontenttype` (section 3.1.3.1), written together with `Content-Type` for consumers
 * that read that one, and read from either, `ce-datacontenttype` winning; the data is the
 * payload. A structured-mode message is a `Content-Type` starting with `application/cloudevents`
 * and the JSON event as payload. Received values may be double-quoted strings with backslash
 * escapes (RFC 7230 section 3.2.6), as older producers send them.
 */

/** Prefix of attribute headers. */
export const ATTRIBUTE_PREFIX = 'ce-';
/** Header holding `datacontenttype` (binary mode, next to `ce-datacontenttype`) or the event format (structured mode). */
export const CONTENT_TYPE_HEADER = 'Content-Type';
/** The binding's header for `datacontenttype` in binary mode. */
export const DATACONTENTTYPE_HEADER = 'ce-datacontenttype';
const DATACONTENTTYPE_NAME = 'datacontenttype';

/** True for a structured-mode content type, which travels as `Content-Type` only. */
function isStructuredType(contentType: string): boolean {
  return contentType.slice(0, 23).toLowerCase() === 'application/cloudevents';
}

/**
 * The content of a double-quoted header value (RFC 7230 section 3.2.6: `"`, then characters or
 * backslash-escaped pairs, then `"`); a value that is not one is returned as it is.
 */
export function unquoteHeaderValue(value: string): string {
  if (value.length < 2 || value.charCodeAt(0) !== 34 || value.charCodeAt(value.length - 1) !== 34) return value;
  const inner = value.slice(1, -1);
  if (!inner.includes('\\')) return inner.includes('"') ? value : inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '\\') {
      if (i + 1 === inner.length) return value; // a lone backslash before the closing quote: not a quoted-string
      out += inner[++i]!;
    } else if (c === '"') {
      return value; // an unescaped quote inside: not a quoted-string
    } else {
      out += c;
    }
  }
  return out;
}
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

/** Decodes a percent-encoded header value, double-quoted or not; undefined when the encoding or the UTF-8 it yields is invalid. */
export function decodeHeaderValue(raw: string): string | undefined {
  const value = raw.charCodeAt(0) === 34 ? unquoteHeaderValue(raw) : raw;
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * A NATS headers block encoded once by the transport (`NATS/1.0`, `Name: value` lines, blank
 * line). nats-core sends what `encode()` returns; the header map stays empty, so an instance is
 * only for publishing, never for reading headers back.
 */
export class EncodedHeaders extends MsgHdrsImpl {
  constructor(readonly bytes: Uint8Array) {
    super();
  }

  override encode(): Uint8Array {
    return this.bytes;
  }
}

// Attribute names as CloudEvents defines them, and header values that need no check, encoding or trimming.
const PLAIN_NAME = /^[a-z0-9]+$/;
const PLAIN_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * The headers of a JetStream publish, encoded once: the message's attributes and content type
 * (as {@link writeHeaders} writes them), `Nats-Msg-Id: <id>` and `Nats-Expected-Stream: <stream>`.
 * Plain ASCII (the usual case) is written straight into one string; anything else goes through
 * nats-core's header checks, which refuse what a header cannot carry.
 */
export function encodePublishHeaders(message: WireMessage, id: string, stream: string): EncodedHeaders {
  const attributes = message.headers;
  const contentType = message.contentType;
  let block = 'NATS/1.0\r\n';
  let plain = PLAIN_VALUE.test(id) && (contentType === undefined || PLAIN_VALUE.test(contentType));
  if (plain) {
    for (const name in attributes) {
      if (!PLAIN_NAME.test(name)) {
        plain = false;
        break;
      }
      block += `${ATTRIBUTE_PREFIX}${name}: ${encodeHeaderValue(attributes[name]!)}\r\n`;
    }
  }
  if (plain) {
    if (contentType !== undefined) {
      if (!isStructuredType(contentType)) block += `${DATACONTENTTYPE_HEADER}: ${contentType}\r\n`;
      block += `${CONTENT_TYPE_HEADER}: ${contentType}\r\n`;
    }
    // Only printable ASCII went in: one byte per character.
    return new EncodedHeaders(Buffer.from(`${block}Nats-Msg-Id: ${id}\r\nNats-Expected-Stream: ${stream}\r\n\r\n`, 'latin1'));
  }
  const headers = new MsgHdrsImpl();
  writeHeaders(message, headers);
  headers.set('Nats-Msg-Id', id);
  headers.set('Nats-Expected-Stream', stream);
  return new EncodedHeaders(headers.encode());
}

/** Writes a wire message's attributes and content type into NATS headers (binary mode, or structured with no attributes). */
export function writeHeaders(message: WireMessage, headers: MsgHdrs): void {
  const attributes = message.headers;
  for (const name in attributes) headers.set(ATTRIBUTE_PREFIX + name, encodeHeaderValue(attributes[name]!));
  const contentType = message.contentType;
  if (contentType !== undefined) {
    if (!isStructuredType(contentType)) headers.set(DATACONTENTTYPE_HEADER, encodeHeaderValue(contentType));
    // A content type read off the wire (a percent-encoded ce-datacontenttype) may hold what a header
    // cannot carry as it is, such as a line break: then it travels in ce-datacontenttype only.
    if (PRINTABLE.test(contentType)) headers.set(CONTENT_TYPE_HEADER, contentType);
  }
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
  for (const [key, values] of headers) {
    const lower = key.toLowerCase();
    if (lower === 'content-type') {
      contentType = values[0] === undefined ? undefined : unquoteHeaderValue(values[0].trim());
      continue;
    }
    if (!lower.startsWith(ATTRIBUTE_PREFIX)) continue;
    const name = lower.slice(ATTRIBUTE_PREFIX.length);
    const raw = values[0] ?? '';
    const decoded = decodeHeaderValue(raw);
    if (decoded === undefined) {
      attributes[name] = raw;
      invalid = invalid === undefined ? name : `${invalid},${name}`;
    } else {
      attributes[name] = decoded;
    }
  }
  return finish(attributes, contentType, invalid, body);
}

/** The wire message of what was read: `ce-datacontenttype` wins over `Content-Type`, and a bad encoding is marked. */
function finish(attributes: Record<string, string>, contentType: string | undefined, invalid: string | undefined, body: Uint8Array): WireMessage {
  const datacontenttype = attributes[DATACONTENTTYPE_NAME];
  if (datacontenttype !== undefined) {
    delete attributes[DATACONTENTTYPE_NAME];
    if (contentType === undefined || !isStructuredType(contentType)) contentType = datacontenttype;
  }
  if (invalid !== undefined) attributes[INVALID_ENCODING_MARKER] = invalid;
  return { headers: attributes, contentType, body };
}

/**
 * {@link readWireMessage} straight from a received message's raw headers block (`NATS/1.0` line,
 * `Name: value` lines), without building nats-core's header map: same result, for the delivery
 * hot path. Lines as nats-core reads them: the name up to the first `:`, the value trimmed, only
 * the first value of a name that appears twice.
 */
export function readHeaderBlock(block: Uint8Array, body: Uint8Array): WireMessage {
  const text = Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString('utf8');
  const attributes: Record<string, string> = {};
  let contentType: string | undefined;
  let invalid: string | undefined;
  let seen: Set<string> | undefined;
  let start = text.indexOf('\r\n') + 2; // after the status line
  if (start === 1) return { headers: attributes, contentType, body };
  while (start < text.length) {
    let end = text.indexOf('\r\n', start);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon !== -1 && colon < end) {
      const key = text.slice(start, colon);
      const lower = key.toLowerCase();
      const isContentType = lower === 'content-type';
      if ((isContentType || lower.startsWith(ATTRIBUTE_PREFIX)) && !(seen ??= new Set()).has(key)) {
        seen.add(key);
        const value = text.slice(colon + 1, end).trim();
        if (isContentType) {
          contentType = unquoteHeaderValue(value);
        } else {
          const name = lower.slice(ATTRIBUTE_PREFIX.length);
          const decoded = decodeHeaderValue(value);
          if (decoded === undefined) {
            attributes[name] = value;
            invalid = invalid === undefined ? name : `${invalid},${name}`;
          } else {
            attributes[name] = decoded;
          }
        }
      }
    }
    start = end + 2;
  }
  return finish(attributes, contentType, invalid, body);
}

/** The neutral form of a delivery: read from the raw headers block when nats-core exposes it (its `MsgImpl`), else from its parsed headers. */
export function readNatsMessage(msg: Msg): WireMessage {
  if (msg instanceof MsgImpl) {
    const headerBytes = msg._msg.hdr;
    if (headerBytes <= 0) return readWireMessage(undefined, msg.data);
    return readHeaderBlock(msg._rdata.subarray(0, headerBytes), msg.data);
  }
  return readWireMessage(msg.headers, msg.data);
}
