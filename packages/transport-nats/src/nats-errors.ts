import { BrokerConnectionError } from '@cloudbus/core/transport';

/**
 * The transport could not reach a usable NATS JetStream server at connect: unreachable, refused
 * the credentials, JetStream not enabled, or the stream could not be set up. The message says
 * which and how to fix it; it never holds credentials.
 */
export class NatsConnectionError extends BrokerConnectionError {
  override name = 'NatsConnectionError';
}
