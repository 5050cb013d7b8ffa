import { Buffer, isUtf8 } from 'node:buffer';

import { InvalidCloudEventError } from '../errors.js';
import type { CloudEvent, ExtensionValue } from './cloud-event.js';
import { assertAttributeName, assertStringValue, validateCloudEvent } from './validation.js';

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

function isStructured(contentType: string | undefined): boolean {
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

/** Deepest nesting of arrays and objects accepted in JSON input. */
export const MAX_JSON_DEPTH = 64;

/** Nesting depth of JSON text, brackets inside strings not counted; stops counting past the limit. */
function nestingDepth(text: string): number {
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
      if (++depth > deepest && (deepest = depth) > MAX_JSON_DEPTH) return deepest;
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

/** True when a parsed JSON value holds a `__proto__` key anywhere. */
function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (Object.hasOwn(value, '__proto__')) return true;
  for (const key in value) if (hasProtoKey((value as Record<string, unknown>)[key])) return true;
  return false;
}

/**
 * Parses JSON input from the wire, refusing what could harm a consumer: nesting deeper than
 * {@link MAX_JSON_DEPTH} (recursive code downstream would overflow its stack) and `__proto__` keys
 * at any depth (merged into objects, they would replace prototypes). Both cheap checks run only
 * where such input is possible: deep nesting needs long text with more than {@link MAX_JSON_DEPTH}
 * opening brackets, `__proto__` needs the word `proto`.
 */
function parseJson(text: string, what: string): unknown {
  if (text.length > 2 * MAX_JSON_DEPTH && mayNestDeeperThan(text, MAX_JSON_DEPTH) && nestingDepth(text) > MAX_JSON_DEPTH) {
    throw new InvalidCloudEventError(`${what} nests deeper than ${MAX_JSON_DEPTH} levels; refused.`, 'data');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidCloudEventError(`${what} is not valid JSON: ${(error as Error).message}`, 'data', { cause: error });
  }
  if (text.includes('proto') && hasProtoKey(value)) {
    throw new InvalidCloudEventError(`${what} holds a '__proto__' key; refused.`, 'data');
  }
  return value;
}

/** Decodes `data` bytes as their content type says (JSON value, text, or the bytes themselves). */
export function decodeData(body: Uint8Array, contentType: string | undefined): unknown {
  if (body.byteLength === 0) return undefined;
  if (isJsonContentType(contentType)) return parseJson(utf8(body, 'data'), 'data');
  if (contentType !== undefined && contentType.startsWith('text/')) return utf8(body, 'data');
  return body;
}

/**
 * Decodes a wire message in either content mode and validates it. Throws
 * {@link InvalidCloudEventError} for anything that is not a valid CloudEvent 1.0.
 */
export function decodeCloudEvent(message: WireMessage): CloudEvent {
  const event = isStructured(message.contentType) ? decodeStructured(message) : decodeBinary(message);
  validateCloudEvent(event);
  return event;
}

function decodeBinary(message: WireMessage): Record<string, unknown> {
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
  const data = decodeData(message.body, message.contentType);
  if (data !== undefined) event['data'] = data;
  return event;
}

function decodeStructured(message: WireMessage): Record<string, unknown> {
  if (message.contentType!.slice(0, 29).toLowerCase() === 'application/cloudevents-batch') {
    throw new InvalidCloudEventError(`Batched CloudEvents (application/cloudevents-batch) are not supported.`);
  }
  const parsed = parseJson(utf8(message.body, 'Structured event'), 'Structured event');
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
  if (!isStructured(message.contentType)) return message;
  return encodeBinary(event);
}
