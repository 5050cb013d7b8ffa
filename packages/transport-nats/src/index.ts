// @cloudbus/transport-nats: the NATS JetStream transport. Importing it registers the transport as 'nats'.
import { registerTransport, transportOptionsOf } from '@cloudbus/core/transport';

import type { NatsTransportOptions } from './nats-transport-options.js';
import { NatsTransport } from './nats-transport.js';

export { NatsTransport, type NatsTransportStats } from './nats-transport.js';
export {
  DEFAULT_URL,
  resolveNatsOptions,
  type NatsAuth,
  type NatsStartPosition,
  type NatsTlsOptions,
  type NatsTransportOptions,
  type ResolvedNatsOptions,
} from './nats-transport-options.js';
export { natsConnectionOptions } from './nats-connection.js';
export { NatsConnectionError } from './nats-errors.js';
export { durableName, subjectForType } from './subject-naming.js';
export { decodeHeaderValue, encodeHeaderValue, INVALID_ENCODING_MARKER, readWireMessage, writeHeaders } from './nats-binding.js';

registerTransport('nats', (bus) => new NatsTransport(transportOptionsOf<NatsTransportOptions>(bus), bus.service));
