// @cloudbus/transport-rabbitmq: importing it registers the 'rabbitmq' transport. Everything is exported by name.
import { registerTransport, transportOptionsOf } from '@cloudbus/core/transport';

import { RabbitMqTransport } from './rabbitmq-transport.js';
import type { RabbitMqTransportOptions } from './rabbitmq-transport-options.js';

export { RabbitMqTransport } from './rabbitmq-transport.js';
export {
  DEFAULT_URL,
  resolveRabbitMqOptions,
  toAmqpConnectArguments,
  type AmqpConnectArguments,
  type RabbitMqQueueType,
  type RabbitMqTlsOptions,
  type RabbitMqTransportOptions,
  type ResolvedRabbitMqOptions,
} from './rabbitmq-transport-options.js';
export { RabbitMqConnectionError } from './rabbitmq-errors.js';
export type { DeclaredTopology } from './rabbitmq-topology.js';
export { ATTRIBUTE_PREFIX, headerText, PrivateHeaders, publishProperties, toWireMessage } from './rabbitmq-binding.js';
export { routingKeyOf } from './routing-key.js';
export { retryBucketOf } from './retry-bucket.js';

registerTransport('rabbitmq', (bus) => {
  const options = transportOptionsOf<RabbitMqTransportOptions>(bus);
  return new RabbitMqTransport({ ...options, connectionName: options.connectionName ?? bus.service });
});
