import { Buffer } from 'node:buffer';

import { fromStructuredMessage, STRUCTURED_CONTENT_TYPE, toStructuredMessage, type WireMessage } from '@cloudbus/core/transport';
import type { IPublishPacket } from 'mqtt';

/**
 * The CloudEvents MQTT Protocol Binding 1.0, both content modes, both ways, in one place:
 *
 * - binary mode (MQTT 5 only): the attributes as user properties under their own names,
 *   `datacontenttype` as the PUBLISH Content Type, the data as the payload;
 * - structured mode: the whole event as one JSON payload, Content Type
 *   `application/cloudevents+json` on MQTT 5, nothing but the payload on MQTT 3.1.1 (which has no
 *   properties: every message travels in structured mode there, dead letters included).
 *
 * QoS, retain and expiry are not the binding's business: see `MqttPublisher`.
 */

/** The MQTT protocol level: 5, or 4 (MQTT 3.1.1). */
export type MqttProtocolVersion = 4 | 5;

/** MQTT 5 PUBLISH properties, as mqtt.js reads and writes them. */
export type MqttPublishProperties = NonNullable<IPublishPacket['properties']>;

const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** The same bytes as a Buffer (mqtt.js publishes Buffers), without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether the message carries headers (attributes in binary mode, a dead letter's record): on MQTT 5, user properties. */
export function hasHeaders(message: WireMessage): boolean {
  for (const _ in message.headers) return true;
  return false;
}

/**
 * The PUBLISH payload of `message`. MQTT 5: the body as it is. MQTT 3.1.1: one structured JSON
 * event, since there are no properties to carry headers in (core already sends structured events
 * when `binaryMode` is false; what it still hands over in binary mode, such as dead letters, is
 * turned into one JSON object here, by core's structured codec).
 */
export function toMqttPayload(message: WireMessage, protocolVersion: MqttProtocolVersion): Buffer {
  return protocolVersion === 4 ? toStructuredMessage(message) : asBuffer(message.body);
}

/**
 * The MQTT 5 PUBLISH properties of `message`: its headers as user properties (binary mode) and its
 * content type as Content Type; undefined when it has neither. A new object on every call.
 */
export function toMqttProperties(message: WireMessage): MqttPublishProperties | undefined {
  const contentType = message.contentType;
  if (hasHeaders(message)) {
    const properties: MqttPublishProperties = { userProperties: message.headers as Record<string, string> };
    if (contentType !== undefined) properties.contentType = contentType;
    return properties;
  }
  return contentType === undefined ? undefined : { contentType };
}

/**
 * A message received on a subscription, for core. MQTT 5: user properties as headers (a repeated
 * property keeps its first value) and the Content Type; a message with neither (an MQTT 3.1.1
 * publisher) is structured mode, as the binding says. MQTT 3.1.1: always structured mode.
 */
export function fromMqttMessage(payload: Buffer, properties: MqttPublishProperties | undefined, protocolVersion: MqttProtocolVersion): WireMessage {
  if (protocolVersion === 4) return { headers: EMPTY_HEADERS, contentType: STRUCTURED_CONTENT_TYPE, body: payload };
  const headers = properties?.userProperties === undefined ? EMPTY_HEADERS : flatten(properties.userProperties);
  let contentType = properties?.contentType;
  if (contentType === undefined && headers === EMPTY_HEADERS) contentType = STRUCTURED_CONTENT_TYPE;
  return { headers, contentType, body: payload };
}

/**
 * A retained message this transport stored (a dead letter) read back. MQTT 5: user properties as
 * headers (a repeated property's values joined by commas) and the Content Type as it is. MQTT 3.1.1:
 * the structured JSON read back into headers and body, so a dead letter's record reads as headers
 * again; a payload that is no JSON object stays as it is, in structured mode.
 */
export function fromStoredMqttMessage(payload: Buffer, properties: MqttPublishProperties | undefined, protocolVersion: MqttProtocolVersion): WireMessage {
  if (protocolVersion === 4) {
    return fromStructuredMessage(payload) ?? { headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: payload };
  }
  const headers: Record<string, string> = {};
  const user = properties?.userProperties;
  if (user !== undefined) for (const name in user) headers[name] = String(user[name]);
  return { headers, contentType: properties?.contentType, body: payload };
}

/** User properties as headers: a repeated property keeps its first value. */
function flatten(properties: Record<string, string | string[]>): Readonly<Record<string, string>> {
  for (const name in properties) {
    if (typeof properties[name] !== 'string') {
      const headers: Record<string, string> = {};
      for (const key in properties) {
        const value = properties[key]!;
        headers[key] = typeof value === 'string' ? value : (value[0] ?? '');
      }
      return headers;
    }
  }
  return properties as Record<string, string>;
}
