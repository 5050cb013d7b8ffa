import { type Buffer } from 'node:buffer';

import type { WireMessage } from '@cloudbus/core';
import { headerText, PrivateHeaders, publishProperties, routingKeyOf, toWireMessage } from '@cloudbus/transport-rabbitmq';
import type { MessageProperties, Options } from 'amqplib';

import type { RawWire, TappedMessage } from '../captured-message.js';

/**
 * How @cloudbus/transport-rabbitmq puts events on RabbitMQ, as the inspector reads it (keep in
 * step with that package's README): attributes as AMQP headers `cloudEvents_<name>` (or
 * `cloudEvents:<name>`), `datacontenttype` as `content_type`, routing key = CloudEvent type with
 * `%`, `*`, `#` percent-encoded, events on the topic exchange `cloudbus.events`, dead letters on
 * the fanout exchange (and queue) `cloudbus.deadletter`, with the original routing key in
 * the header `x-cloudbus-destination`.
 */
export const RabbitMqDefaults = {
  exchange: 'cloudbus.events',
  deadLetterExchange: 'cloudbus.deadletter',
} as const;

/** Routing key of a type, as the transport writes it. */
export { routingKeyOf };

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
  const wireHeaders: Record<string, string> = {};
  for (const name in raw) wireHeaders[name] = headerText(raw[name]);
  for (const name of ['contentType', 'contentEncoding', 'messageId', 'timestamp', 'deliveryMode', 'correlationId', 'type', 'appId'] as const) {
    const value = (properties as unknown as Record<string, unknown>)[name];
    if (value !== undefined) wireHeaders[`[${name}]`] = headerText(value);
  }
  // The neutral form exactly as the transport reads it (both separators, datacontenttype, private headers left out).
  const neutral: WireMessage = toWireMessage(properties, message.content);
  const wire: RawWire = {
    destination: `${message.fields.exchange} / ${message.fields.routingKey}`,
    headers: wireHeaders,
    contentType: neutral.contentType ?? '',
  };
  const original = raw[PrivateHeaders.destination];
  return { message: neutral, wire, deadLetter, originalDestination: original === undefined ? undefined : headerText(original) };
}

/** Publish properties of a wire message, as the transport writes them in binary mode. */
export function amqpPublishOptions(id: string, message: WireMessage): Options.Publish {
  return publishProperties(id, message, Math.floor(Date.now() / 1000));
}
