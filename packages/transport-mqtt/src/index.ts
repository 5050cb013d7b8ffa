// @cloudbus/transport-mqtt: CloudEvents over MQTT 5 / 3.1.1. Importing it registers the 'mqtt' transport.
import { registerTransport } from '@cloudbus/core/transport';

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

registerTransport('mqtt', ({ url, service, options, logger }) => {
  const given = options as MqttTransportOptions;
  return new MqttTransport({ ...given, url: url ?? given.url, service: given.service ?? service, logger: given.logger ?? logger });
});
