import { foreignProtocolAt } from '@cloudbus/core';

import { NatsConnectionError } from './nats-connection-error.js';
import type { ResolvedNatsOptions } from './nats-transport-options.js';

/**
 * Connects, and meanwhile checks that the server greets like NATS: a NATS URL pointed at an MQTT
 * or AMQP port would otherwise wait for the whole connect timeout and say only "timeout". When
 * the port speaks another protocol, rejects at once with a {@link NatsConnectionError} saying so,
 * and closes the connection should it open after all. Only a single plain `nats://` server is
 * probed: a cluster list lets the client move on, and TLS-first or WebSocket servers greet
 * differently.
 */
export async function connectUnlessForeign<C extends { close(): Promise<void> }>(connecting: Promise<C>, options: ResolvedNatsOptions): Promise<C> {
  const [server] = options.servers;
  if (options.servers.length !== 1 || server === undefined || !server.startsWith('nats://') || options.tls?.handshakeFirst === true) return connecting;
  const foreign = foreignProtocolAt(server, 4222, 'NATS', { timeoutMs: Math.min(2_000, options.connectTimeoutMs) }).then((reason) => {
    if (reason === undefined) return connecting;
    connecting.then((nc) => nc.close()).catch(() => {});
    throw new NatsConnectionError(
      `nats transport: ${options.endpoint} is not a NATS server: ${reason}. Point the URL at nats-server (nats://host:4222).`,
      { permanent: true },
    );
  });
  return Promise.race([connecting, foreign]);
}
