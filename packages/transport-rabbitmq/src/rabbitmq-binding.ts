import { Buffer } from 'node:buffer';

import type { WireMessage } from '@cloudbus/core/transport';
import type { MessageProperties, Options } from 'amqplib';

/**
 * The CloudEvents AMQP binding mapped onto AMQP 0-9-1: in binary mode every attribute is an AMQP
 * header `cloudEvents_<name>`, `datacontenttype` is the `content_type` property and the data is
 * the body; in structured mode the content type is `application/cloudevents+json` and the body is
 * the JSON event. Core decides the mode; this file only moves headers in and out.
 */

/** Prefix of CloudEvent attribute headers, as written. `cloudEvents:` is accepted on receive too. */
export const ATTRIBUTE_PREFIX = 'cloudEvents_';
const PREFIX_LENGTH = ATTRIBUTE_PREFIX.length;

/** Transport-private headers: never handed to core as attributes. */
export const PrivateHeaders = {
  /** Attempt number of the next delivery, set on retry republishes. */
  attempt: 'x-cloudbus-attempt',
  /** First delivery to the subscription, ms since the epoch, set on retry republishes. */
  firstAttempt: 'x-cloudbus-first-attempt',
  /** Routing key the event was first published with. */
  destination: 'x-cloudbus-destination',
  /**
   * Retry bucket (ms) a retry republish is routed to by the retry headers exchange. Not `x-`:
   * headers exchanges ignore `x-` headers when matching.
   */
  delay: 'cloudbus-retry-delay',
  /** Subscription queue that dead-lettered a message. */
  subscription: 'x-cloudbus-subscription',
} as const;

/** Broker header of quorum queues: how many times the message was returned to the queue. */
export const DELIVERY_COUNT_HEADER = 'x-delivery-count';

const MAX_SHORT_STRING = 255;

/**
 * Largest AMQP header table cloudbus sends, as {@link amqpHeaderBytes} estimates it: amqplib
 * encodes a message's properties in one 64 KiB buffer and throws past it (`offset out of range`),
 * so this leaves room for the other properties.
 */
export const MAX_AMQP_HEADER_BYTES = 62_000;

/**
 * The header limit the transport declares to core (`capabilities.maxHeaderBytes`, counted as core
 * counts: UTF-8 name and value plus 32 per header, with no prefix): what a dead letter's attributes
 * may take, leaving room under {@link MAX_AMQP_HEADER_BYTES} for `x-death` and cloudbus' own headers.
 */
export const MAX_ATTRIBUTE_HEADER_BYTES = 56_000;

/** Estimated encoded size of an AMQP header table: per entry, name and value bytes plus 6 bytes of framing; nested values by their JSON size. */
export function amqpHeaderBytes(headers: Readonly<Record<string, unknown>>): number {
  let bytes = 0;
  for (const name in headers) {
    const value = headers[name];
    bytes += Buffer.byteLength(name) + 6;
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (Buffer.isBuffer(value)) bytes += value.byteLength;
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) bytes += 8;
    else bytes += 2 * Buffer.byteLength(JSON.stringify(value) ?? '');
  }
  return bytes;
}

/** True when `value` fits an AMQP short string (255 bytes). */
export function fitsShortString(value: string): boolean {
  return value.length <= 85 || Buffer.byteLength(value) <= MAX_SHORT_STRING;
}

/** The body as a Buffer, without copying. */
export function bodyBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * `cloudEvents_<name>` of the attribute names seen so far, each built once: amqplib measures and
 * copies every header name of every message, which costs markedly more on a string built by
 * concatenation each time. Bounded, for applications with unusually many extension names.
 */
const headerNames = new Map<string, string>();
const MAX_HEADER_NAMES = 1_024;

function headerNameOf(attribute: string): string {
  let name = headerNames.get(attribute);
  if (name === undefined) {
    name = ATTRIBUTE_PREFIX + attribute;
    if (headerNames.size < MAX_HEADER_NAMES) headerNames.set(attribute, name);
  }
  return name;
}

/** AMQP headers of a wire message: each attribute as `cloudEvents_<name>`. */
export function attributeHeaders(message: WireMessage): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  const attributes = message.headers;
  for (const name in attributes) headers[headerNameOf(name)] = attributes[name];
  return headers;
}

/**
 * Publish properties of an event: persistent, attributes as headers, `datacontenttype` as
 * `content_type`, the CloudEvent id as `message_id` (when it fits), the publish time in seconds.
 */
export function publishProperties(id: string, message: WireMessage, timestampSeconds: number): Options.Publish {
  const properties: Options.Publish = {
    persistent: true,
    headers: attributeHeaders(message),
    timestamp: timestampSeconds,
  };
  if (message.contentType !== undefined) properties.contentType = message.contentType;
  if (fitsShortString(id)) properties.messageId = id;
  return properties;
}

/** An AMQP header value as a string: Buffers as UTF-8, AMQP timestamps as RFC 3339, others as text. */
export function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
  if (value !== null && typeof value === 'object' && '!' in value && 'value' in value) {
    const typed = value as { '!': string; value: unknown };
    if (typed['!'] !== 'timestamp') return headerText(typed.value);
    // Foreign input: a timestamp out of Date's range stays a number rather than throwing.
    const date = new Date(Number(typed.value) * 1000);
    return Number.isNaN(date.getTime()) ? String(typed.value) : date.toISOString();
  }
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

function isAttributeHeader(name: string): boolean {
  if (name.length <= PREFIX_LENGTH) return false;
  const separator = name.charCodeAt(PREFIX_LENGTH - 1);
  // '_' or ':'
  if (separator !== 95 && separator !== 58) return false;
  return name.startsWith('cloudEvents') || name.slice(0, PREFIX_LENGTH - 1).toLowerCase() === 'cloudevents';
}

/**
 * The wire message of a received AMQP message: only `cloudEvents_*` / `cloudEvents:*` headers,
 * stripped of their prefix, become attributes; every other header (x-death, cloudbus' private
 * ones, foreign application headers) stays out.
 */
export function toWireMessage(properties: MessageProperties, content: Buffer): WireMessage {
  const headers: Record<string, string> = {};
  let contentType = properties.contentType as string | undefined;
  const raw = properties.headers as Record<string, unknown> | undefined;
  if (raw !== undefined) {
    for (const name in raw) {
      if (!isAttributeHeader(name)) continue;
      const attribute = name.slice(PREFIX_LENGTH);
      if (attribute === 'datacontenttype') {
        contentType ??= headerText(raw[name]);
        continue;
      }
      headers[attribute] = headerText(raw[name]);
    }
  }
  return { headers, contentType, body: content };
}
