// @cloudbus/transport-mqtt: CloudEvents over MQTT 5 / 3.1.1. Importing it registers the 'mqtt' transport.
import { registerTransport, transportOptionsOf } from '@cloudbus/core/transport';

import { MqttTransport } from './mqtt-transport.js';
import type { MqttTransportOptions } from './mqtt-transport-options.js';

export { MqttTransport } from './mqtt-transport.js';
export {
  DEFAULT_MQTT_URL,
  DEFAULT_TOPIC_PREFIX,
  resolveMqttOptions,
  type MqttTlsOptions,
  type MqttTransportOptions,
  type ResolvedMqttOptions,
} from './mqtt-transport-options.js';
export { MqttTopics, escapeLevel, parkingClientId, type Redelivery } from './mqtt-topics.js';
export { MqttConnectError, MqttConnectionLostError, MqttSubscribeError } from './mqtt-errors.js';
/** @deprecated Core's structured codec: `toStructuredMessage` / `fromStructuredMessage` from `@cloudbus/core/transport`. */
export { fromStructuredMessage as fromStructured, toStructuredMessage as toStructured } from '@cloudbus/core/transport';

registerTransport('mqtt', (bus) => {
  const options = transportOptionsOf<MqttTransportOptions>(bus);
  return new MqttTransport({ ...options, service: options.service ?? bus.service });
});
