import { STRUCTURED_CONTENT_TYPE, type WireMessage } from '@cloudbus/core';
import { MqttTopics } from '@cloudbus/transport-mqtt/wire';
import type { IPublishPacket } from 'mqtt';

import type { RawWire, TappedMessage } from '../captured-message.js';

/**
 * How @cloudbus/transport-mqtt puts events on MQTT, as the inspector reads it (its `./wire` entry
 * holds the topic layout and the binding): events on `<prefix>/<type, one level per dot-separated
 * part>`, redeliveries on `<prefix>-redeliver/...` (not tapped: they are copies), dead letters
 * retained on `<prefix>-deadletter/<subscription>/<time>-<id>`; MQTT 5 carries attributes as user
 * properties with the attribute name unchanged and `datacontenttype` as the content type; MQTT
 * 3.1.1 is structured mode only.
 */

/** The topic of a type, as the transport derives it. */
export function topicOf(prefix: string, type: string): string {
  return new MqttTopics(prefix).forType(type);
}

/** An MQTT message read by the tap, in neutral and raw form. */
export function tappedFromMqtt(topic: string, payload: Uint8Array, packet: IPublishPacket, prefix: string): TappedMessage {
  const attributes: Record<string, string> = {};
  const wireHeaders: Record<string, string> = {};
  const properties = packet.properties;
  const user = properties?.userProperties ?? {};
  for (const [name, value] of Object.entries(user)) {
    const text = Array.isArray(value) ? value.join(',') : String(value);
    wireHeaders[name] = text;
    attributes[name] = text;
  }
  // MQTT 3.1.1 carries no properties: the transport then sends structured mode only.
  const contentType = properties?.contentType ?? (Object.keys(user).length === 0 && payload[0] === 0x7b /* { */ ? STRUCTURED_CONTENT_TYPE : undefined);
  if (contentType !== undefined) wireHeaders['[contentType]'] = contentType;
  wireHeaders['[qos]'] = String(packet.qos);
  wireHeaders['[retain]'] = String(packet.retain);
  const deadLetter = new MqttTopics(prefix).isDeadLetterTopic(topic);
  const wire: RawWire = { destination: topic, headers: wireHeaders, contentType: contentType ?? '' };
  const message: WireMessage = { headers: attributes, contentType, body: payload };
  return { message, wire, deadLetter };
}
