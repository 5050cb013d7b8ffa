// @cloudbus/transport-mqtt: CloudEvents over MQTT 5 / 3.1.1. Importing it registers the 'mqtt' transport.
import { registerTransport } from '@cloudbus/core';

import { MqttTransport } from './mqtt-transport.js';
import type { MqttTransportOptions } from './mqtt-transport-options.js';

export { MqttTransport } from './mqtt-transport.js';
export { DEFAULT_MQTT_URL, resolveMqttOptions, type MqttTlsOptions, type MqttTransportOptions, type ResolvedMqttOptions } from './mqtt-transport-options.js';
export { MqttTopics, escapeLevel, type Redelivery } from './mqtt-topics.js';
export { parkingClientId } from './mqtt-topics.js';
export { MqttConnectError, MqttConnectionLostError, MqttSubscribeError } from './mqtt-errors.js';
export { fromStructured, toStructured } from './structured-envelope.js';

registerTransport('mqtt', ({ url, service, options, logger }) => {
  const given = options as MqttTransportOptions;
  return new MqttTransport({ ...given, url: url ?? given.url, service: given.service ?? service, logger: given.logger ?? logger });
});
