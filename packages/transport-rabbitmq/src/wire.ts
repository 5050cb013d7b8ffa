// @cloudbus/transport-rabbitmq/wire: how the transport puts CloudEvents on RabbitMQ, for tools that
// read or write the wire without running the transport (the inspector's tap, the CLI). No side
// effects: importing it registers nothing.
export { ATTRIBUTE_PREFIX, DELIVERY_COUNT_HEADER, headerText, PrivateHeaders, publishProperties, toWireMessage } from './rabbitmq-binding.js';
export { DEFAULT_DEAD_LETTER_QUEUE, DEFAULT_EXCHANGE, DEFAULT_RETRY_PREFIX, DEFAULT_URL } from './rabbitmq-transport-options.js';
export { retryBucketOf } from './retry-bucket.js';
export { routingKeyOf } from './routing-key.js';
