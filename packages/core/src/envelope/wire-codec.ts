import { Buffer, isUtf8 } from 'node:buffer';

import { InvalidCloudEventError, ReceiveLimitError } from '../errors.js';
import { CONTEXT_ATTRIBUTES, type CloudEvent, type ExtensionValue } from './cloud-event.js';
import { assertAttributeName, assertStringValue, printable, validateCloudEvent } from './validation.js';

/**
 * A message as every transport carries it, before the protocol binding maps it onto the wire:
 * headers (AMQP application properties, NATS headers, MQTT user properties), a content type and
 * the payload bytes. Each transport maps its protocol to and from this shape; everything about
 * CloudEvents (modes, validation, data encoding) is done here, once.
 */
export interface WireMessage {
  /**
   * In binary mode: one entry per CloudEvent attribute except `datacontenttype` and `data`, by
   * attribute name (the transport strips its binding's prefix and undoes its value encoding).
   * In structured mode: usually empty. Dead letters of undecodable messages add the failure record
   * here.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** Binary mode: the event's `datacontenttype`. Structured mode: `application/cloudevents+json`. */
  readonly contentType?: string | undefined;
  readonly body: Uint8Array;
}

/** Binary content mode puts attributes in headers and data in the body; structured mode puts the whole event as JSON in the body. */
export type ContentMode = 'binary' | 'structured';

/** Content type of structured-mode JSON events. */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
const EMPTY = new Uint8Array(0);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** True for `application/json`, `text/json` and any `+json` media type. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  if (contentType.startsWith('application/json')) return true;
  const semicolon = contentType.indexOf(';');
  const essence = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return essence === 'application/json' || essence === 'text/json' || essence.endsWith('+json');
}

/** True for `application/cloudevents+json` (any parameters): a structured-mode message. */
export function isStructuredContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.slice(0, 23).toLowerCase() === 'application/cloudevents';
}

function headerValue(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

/** Size of a message on the wire: body, header names and values (UTF-16 length as an estimate of bytes for headers). */
export function wireSize(message: WireMessage): number {
  let size = message.body.byteLength + (message.contentType?.length ?? 0);
  const headers = message.headers;
  for (const name in headers) size += name.length + headers[name]!.length;
  return size;
}

/** Encodes `data` into bytes as its `datacontenttype` says: JSON text, UTF-8 text, or bytes as they are. */
export function encodeData(data: unknown, contentType: string | undefined): Uint8Array {
  if (data === undefined) return EMPTY;
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string' && !isJsonContentType(contentType)) return Buffer.from(data, 'utf8');
  return Buffer.from(JSON.stringify(data), 'utf8');
}

/** Encodes a validated CloudEvent for the wire in the given content mode. */
export function encodeCloudEvent(event: CloudEvent, mode: ContentMode = 'binary'): WireMessage {
  return mode === 'binary' ? encodeBinary(event) : encodeStructured(event);
}

function encodeBinary(event: CloudEvent): WireMessage {
  const headers: Record<string, string> = {};
  for (const name in event) {
    if (name === 'data' || name === 'datacontenttype') continue;
    const value = event[name];
    if (value !== undefined) headers[name] = headerValue(value);
  }
  return { headers, contentType: event.datacontenttype, body: encodeData(event.data, event.datacontenttype) };
}

function encodeStructured(event: CloudEvent): WireMessage {
  const { data, ...attributes } = event;
  const json: Record<string, unknown> = attributes;
  if (data instanceof Uint8Array) {
    json['data_base64'] = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  } else if (data !== undefined) {
    json['data'] = data;
  }
  return { headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: Buffer.from(JSON.stringify(json), 'utf8') };
}

function utf8(body: Uint8Array, what: string): string {
  if (!isUtf8(body)) throw new InvalidCloudEventError(`${what} is not valid UTF-8.`, 'data');
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

/** Deepest nesting of arrays and objects accepted in JSON input, by default. */
export const MAX_JSON_DEPTH = 64;

/**
 * Limits on what a received message may hold, checked before any handler sees it. A message over
 * one is dead-lettered with reason `invalid` and the limit named in its record
 * (`deadletterlimit`). Set through the bus option `receiveLimits`.
 */
export interface ReceiveLimits {
  /**
   * Most extension attributes (attributes other than the CloudEvents context attributes) an event may carry.
   * @default 100
   */
  readonly maxExtensions: number;
  /**
   * Most bytes of headers (binary mode attributes and content type): each header's name and value
   * in characters, plus 32 for its framing.
   * @default 32768
   */
  readonly maxHeaderBytes: number;
  /**
   * Longest attribute name or string value, in characters.
   * @default 4096
   */
  readonly maxAttributeLength: number;
  /**
   * Deepest nesting of arrays and objects in JSON input (data and structured events).
   * @default 64
   */
  readonly maxJsonDepth: number;
}

/** The receive limits used when the bus options set none. */
export const DEFAULT_RECEIVE_LIMITS: ReceiveLimits = Object.freeze({
  maxExtensions: 100,
  maxHeaderBytes: 32_768,
  maxAttributeLength: 4_096,
  maxJsonDepth: MAX_JSON_DEPTH,
});

/** Bytes counted per header for its framing on the wire, on top of its name and value. */
export const HEADER_OVERHEAD_BYTES = 32;

/** Nesting depth of JSON text, brackets inside strings not counted; stops counting past `limit`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 || c === 91) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 125 || c === 93) {
      depth--;
    }
  }
  return deepest;
}

/**
 * False when `text` holds at most `limit` opening brackets, so it cannot nest deeper: counted with
 * `indexOf`, which is native and much quicker than {@link nestingDepth}'s scan of every character.
 */
function mayNestDeeperThan(text: string, limit: number): boolean {
  let brackets = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++brackets > limit) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++brackets > limit) return true;
  return false;
}

/** Keys that, merged into an object, reach its prototype: refused at any depth of JSON input. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The first forbidden key anywhere in a parsed JSON value, or undefined. */
function forbiddenKey(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = forbiddenKey(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return key;
    const found = forbiddenKey((value as Record<string, unknown>)[key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * True when JSON text may hold a forbidden key. A key that parses to `__proto__`, `prototype` or
 * `constructor` holds the word `proto` or `constructor` as it is, or else a `\u` escape (the only
 * JSON escape that yields a letter or `_`), so text with none of the three cannot hold one.
 */
function mayHoldForbiddenKey(text: string): boolean {
  return text.includes('proto') || text.includes('\\u') || text.includes('constructor');
}

/**
 * Parses JSON input from the wire, refusing what could harm a consumer: nesting deeper than
 * `maxDepth` (recursive code downstream would overflow its stack) and `__proto__`, `constructor`
 * or `prototype` keys at any depth, however escaped (merged into objects, they would reach
 * prototypes). The keys are checked on the parsed value; the walk is skipped for text that cannot
 * hold them (see {@link mayHoldForbiddenKey}). The depth check runs only on text with more than
 * `maxDepth` opening brackets.
 */
function parseJson(text: string, what: string, maxDepth: number): unknown {
  if (text.length > 2 * maxDepth && mayNestDeeperThan(text, maxDepth) && nestingDepth(text, maxDepth) > maxDepth) {
    throw new ReceiveLimitError('maxJsonDepth', `${what} nests deeper than ${maxDepth} levels; refused`, 'data');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidCloudEventError(`${what} is not valid JSON: ${(error as Error).message}`, 'data', { cause: error });
  }
  if (mayHoldForbiddenKey(text)) {
    const key = forbiddenKey(value);
    if (key !== undefined) throw new InvalidCloudEventError(`${what} holds a '${key}' key; refused.`, 'data');
  }
  return value;
}

/** Decodes `data` bytes as their content type says (JSON value, text, or the bytes themselves). */
export function decodeData(body: Uint8Array, contentType: string | undefined, maxJsonDepth: number = MAX_JSON_DEPTH): unknown {
  if (body.byteLength === 0) return undefined;
  if (isJsonContentType(contentType)) return parseJson(utf8(body, 'data'), 'data', maxJsonDepth);
  if (contentType !== undefined && contentType.startsWith('text/')) return utf8(body, 'data');
  return body;
}

/**
 * Decodes a wire message in either content mode and validates it. Throws
 * {@link InvalidCloudEventError} for anything that is not a valid CloudEvent 1.0, and its
 * subclass `ReceiveLimitError` for a message over one of `limits`.
 */
export function decodeCloudEvent(message: WireMessage, limits: ReceiveLimits = DEFAULT_RECEIVE_LIMITS): CloudEvent {
  const event = isStructuredContentType(message.contentType) ? decodeStructured(message, limits) : decodeBinary(message, limits);
  checkAttributes(event, limits);
  validateCloudEvent(event);
  return event;
}

/** Checks the headers against the header limits before anything is decoded. */
function checkHeaders(message: WireMessage, limits: ReceiveLimits): void {
  const headers = message.headers;
  let bytes = message.contentType === undefined ? 0 : message.contentType.length + HEADER_OVERHEAD_BYTES;
  let count = 0;
  const most = limits.maxExtensions + CONTEXT_ATTRIBUTES.size;
  for (const name in headers) {
    bytes += name.length + headers[name]!.length + HEADER_OVERHEAD_BYTES;
    if (++count > most) throw new ReceiveLimitError('maxExtensions', `Message has more than ${most} attribute headers, over ${limits.maxExtensions} extensions`);
  }
  if (bytes > limits.maxHeaderBytes) throw new ReceiveLimitError('maxHeaderBytes', `Message headers take about ${bytes} bytes, over ${limits.maxHeaderBytes}`);
}

/** Checks the number of extensions and the length of every attribute name and string value. */
function checkAttributes(event: Record<string, unknown>, limits: ReceiveLimits): void {
  let extensions = 0;
  const longest = limits.maxAttributeLength;
  for (const name in event) {
    if (name === 'data') continue;
    if (!CONTEXT_ATTRIBUTES.has(name) && ++extensions > limits.maxExtensions) {
      throw new ReceiveLimitError('maxExtensions', `Event has more than ${limits.maxExtensions} extension attributes`);
    }
    const value = event[name];
    if (name.length > longest || (typeof value === 'string' && value.length > longest)) {
      throw new ReceiveLimitError('maxAttributeLength', `Attribute '${printable(name)}' is longer than ${longest} characters`, name.length > longest ? undefined : name);
    }
  }
}

function decodeBinary(message: WireMessage, limits: ReceiveLimits): Record<string, unknown> {
  checkHeaders(message, limits);
  const headers = message.headers;
  if (headers['specversion'] === undefined) {
    throw new InvalidCloudEventError(
      `Not a CloudEvent: no 'specversion' attribute in the headers, and content type '${message.contentType ?? 'none'}' is not structured mode (application/cloudevents+json).`,
      'specversion',
    );
  }
  const event: Record<string, unknown> = {};
  for (const name in headers) event[name] = headers[name];
  if (message.contentType !== undefined) event['datacontenttype'] = message.contentType;
  const data = decodeData(message.body, message.contentType, limits.maxJsonDepth);
  if (data !== undefined) event['data'] = data;
  return event;
}

function decodeStructured(message: WireMessage, limits: ReceiveLimits): Record<string, unknown> {
  checkHeaders(message, limits);
  if (message.contentType!.slice(0, 29).toLowerCase() === 'application/cloudevents-batch') {
    throw new InvalidCloudEventError(`Batched CloudEvents (application/cloudevents-batch) are not supported.`);
  }
  const parsed = parseJson(utf8(message.body, 'Structured event'), 'Structured event', limits.maxJsonDepth);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidCloudEventError('Structured event must be a JSON object.');
  }
  const event = parsed as Record<string, unknown>;
  for (const name in event) {
    if (event[name] === null) delete event[name];
  }
  const base64 = event['data_base64'];
  if (base64 !== undefined) {
    if (event['data'] !== undefined) {
      throw new InvalidCloudEventError(`A structured event holds 'data' or 'data_base64', never both.`, 'data_base64');
    }
    if (typeof base64 !== 'string' || base64.length % 4 !== 0 || !BASE64.test(base64)) {
      throw new InvalidCloudEventError(`Attribute 'data_base64' is not valid base64.`, 'data_base64');
    }
    delete event['data_base64'];
    event['data'] = Buffer.from(base64, 'base64');
  }
  return event;
}

/**
 * Adds headers to a wire message without touching its body: how dead letters keep the original
 * message and add the failure record. Names and values are validated as CloudEvent attributes.
 */
export function withHeaders(message: WireMessage, extra: Readonly<Record<string, ExtensionValue>>): WireMessage {
  const headers: Record<string, string> = { ...message.headers };
  for (const name in extra) {
    assertAttributeName(name);
    const value = headerValue(extra[name]);
    assertStringValue(name, value);
    headers[name] = value;
  }
  return { headers, contentType: message.contentType, body: message.body };
}

/**
 * The message in binary mode: a structured-mode message is converted (attributes to headers,
 * data to the body), a binary one is returned as it is. Used for dead letters, so the failure
 * record can always travel as headers next to the original event.
 */
export function toBinaryMode(message: WireMessage, event: CloudEvent): WireMessage {
  if (!isStructuredContentType(message.contentType)) return message;
  return encodeBinary(event);
}
