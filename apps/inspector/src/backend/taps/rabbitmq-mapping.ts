import { type Buffer } from 'node:buffer';

import type { WireMessage } from '@cloudbus/core';
import { headerText, PrivateHeaders, publishProperties, toWireMessage } from '@cloudbus/transport-rabbitmq/wire';
import type { MessageProperties, Options } from 'amqplib';

import type { RawWire, TappedMessage } from '../captured-message.js';

/** An AMQP message as delivered or fetched. */
export interface AmqpMessage {
  readonly fields: { readonly exchange: string; readonly routingKey: string };
  readonly properties: MessageProperties;
  readonly content: Buffer;
}

/**
 * A message read by the tap, in core's neutral form and in its raw AMQP form. How
 * @cloudbus/transport-rabbitmq puts events on RabbitMQ (attribute headers, routing keys, exchange
 * and dead-letter names) comes from that package's `./wire` entry. `deadLetter`: read
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
