import { Buffer } from 'node:buffer';

import type { WireMessage } from '@cloudbus/core';
import type { MessageProperties, Options } from 'amqplib';

import type { RawWire, TappedMessage } from '../captured-message.js';

/**
 * How @cloudbus/transport-rabbitmq puts events on RabbitMQ, as the inspector reads it (keep in
 * step with that package's README): attributes as AMQP headers `cloudEvents_<name>` (or
 * `cloudEvents:<name>`), `datacontenttype` as `content_type`, routing key = CloudEvent type with
 * `%`, `*`, `#` percent-encoded, events on the topic exchange `cloudbus.events`, dead letters on
 * the fanout exchange (and classic queue) `cloudbus.deadletter`, with the original routing key in
 * the header `x-cloudbus-destination`.
 */
export const RabbitMqDefaults = {
  exchange: 'cloudbus.events',
  deadLetterExchange: 'cloudbus.deadletter',
} as const;

const ATTRIBUTE_PREFIX = 'cloudEvents_';
const DESTINATION_HEADER = 'x-cloudbus-destination';

/** Routing key of a type, as the transport writes it. */
export function routingKeyOf(type: string): string {
  return type.replace(/[%*#]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** An AMQP header value as text (AMQP timestamps as RFC 3339). */
export function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object' && '!' in value && 'value' in value) {
    const typed = value as { '!': string; value: unknown };
    return typed['!'] === 'timestamp' ? new Date(Number(typed.value) * 1000).toISOString() : headerText(typed.value);
  }
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

function isAttributeHeader(name: string): boolean {
  return name.length > ATTRIBUTE_PREFIX.length && /^cloudevents[_:]/i.test(name.slice(0, ATTRIBUTE_PREFIX.length));
}

/** An AMQP message as delivered or fetched. */
export interface AmqpMessage {
  readonly fields: { readonly exchange: string; readonly routingKey: string };
  readonly properties: MessageProperties;
  readonly content: Buffer;
}

/**
 * A message read by the tap, in core's neutral form and in its raw AMQP form. `deadLetter`: read
 * from the dead-letter exchange or queue.
 */
export function tappedFromAmqp(message: AmqpMessage, deadLetter: boolean): TappedMessage {
  const properties = message.properties;
  const raw = (properties.headers ?? {}) as Record<string, unknown>;
  const headers: Record<string, string> = {};
  const wireHeaders: Record<string, string> = {};
  let contentType = properties.contentType as string | undefined;
  for (const name in raw) {
    const value = headerText(raw[name]);
    wireHeaders[name] = value;
    if (!isAttributeHeader(name)) continue;
    const attribute = name.slice(ATTRIBUTE_PREFIX.length);
    if (attribute === 'datacontenttype') contentType ??= value;
    else headers[attribute] = value;
  }
  for (const name of ['contentType', 'contentEncoding', 'messageId', 'timestamp', 'deliveryMode', 'correlationId', 'type', 'appId'] as const) {
    const value = (properties as unknown as Record<string, unknown>)[name];
    if (value !== undefined) wireHeaders[`[${name}]`] = headerText(value);
  }
  const wire: RawWire = {
    destination: `${message.fields.exchange} / ${message.fields.routingKey}`,
    headers: wireHeaders,
    contentType: contentType ?? '',
  };
  const neutral: WireMessage = { headers, contentType, body: message.content };
  const original = raw[DESTINATION_HEADER];
  return { message: neutral, wire, deadLetter, originalDestination: original === undefined ? undefined : headerText(original) };
}

/** Publish properties of a wire message, as the transport writes them in binary mode. */
export function amqpPublishOptions(id: string, message: WireMessage): Options.Publish {
  const headers: Record<string, string> = {};
  for (const name in message.headers) headers[ATTRIBUTE_PREFIX + name] = message.headers[name]!;
  const options: Options.Publish = { persistent: true, headers, timestamp: Math.floor(Date.now() / 1000), messageId: id };
  if (message.contentType !== undefined) options.contentType = message.contentType;
  return options;
}
