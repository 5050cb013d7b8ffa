// @cloudbus/transport-mqtt/wire: how this transport puts CloudEvents on MQTT, for tools that read or
// write the wire without a transport (the inspector's tap, the CLI). Importing it registers nothing.
export {
  asBuffer,
  fromMqttMessage,
  fromStoredMqttMessage,
  hasHeaders,
  toMqttPayload,
  toMqttProperties,
  type MqttProtocolVersion,
  type MqttPublishProperties,
} from './mqtt-binding.js';
export { escapeLevel, MqttTopics, parkingClientId, unescapeLevel, type Redelivery } from './mqtt-topics.js';
export { DEFAULT_MQTT_URL, DEFAULT_TOPIC_PREFIX, DEFAULT_URL } from './mqtt-transport-options.js';
export { credentialOptions } from './mqtt-connection.js';
