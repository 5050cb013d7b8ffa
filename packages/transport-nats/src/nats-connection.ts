import { readFile } from 'node:fs/promises';

import { foreignProtocolAt, type ConnectionState } from '@cloudbus/core/transport';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

import { NatsConnectionError } from './nats-errors.js';
import type { ResolvedNatsOptions } from './nats-transport-options.js';

/**
 * Maps resolved options onto the NATS client's connection options: servers, timeouts, TLS (set
 * whenever a `tls://` URL or `tls` options ask for it, so the client refuses a server without TLS
 * before sending CONNECT) and credentials (user and password, token, NKEY seed, creds or a creds
 * file, read here). Shared by the transport and the inspector's tap, so both connect alike.
 */
export async function natsConnectionOptions(options: ResolvedNatsOptions): Promise<NodeConnectionOptions> {
  const connection: NodeConnectionOptions = {
    servers: [...options.servers],
    timeout: options.connectTimeoutMs,
    maxReconnectAttempts: options.maxReconnectAttempts,
    reconnectTimeWait: options.reconnectTimeWaitMs,
    waitOnFirstConnect: false,
  };
  if (options.connectionName !== undefined) connection.name = options.connectionName;
  const tls = options.tls;
  if (tls !== undefined) {
    // Validated to hold only known keys. The client types PEM as strings, but hands every key to
    // Node's tls.connect as it is, so Buffers and arrays of PEM work as they do on the other brokers.
    connection.tls = Object.fromEntries(Object.entries(tls).filter(([, value]) => value !== undefined)) as NonNullable<NodeConnectionOptions['tls']>;
  }
  const auth = options.auth;
  if (auth === undefined) return connection;
  const encoder = new TextEncoder();
  if ('user' in auth) {
    connection.user = auth.user;
    connection.pass = auth.pass;
  } else if ('token' in auth) {
    connection.token = auth.token;
  } else if ('nkeySeed' in auth) {
    connection.authenticator = nkeyAuthenticator(encoder.encode(auth.nkeySeed));
  } else if ('creds' in auth) {
    connection.authenticator = credsAuthenticator(encoder.encode(auth.creds));
  } else {
    let creds: Uint8Array;
    try {
      creds = await readFile(auth.credsFile);
    } catch (error) {
      throw new NatsConnectionError(`nats transport: cannot read the credentials file given as auth.credsFile: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`, { cause: error });
    }
    connection.authenticator = credsAuthenticator(creds);
  }
  return connection;
}

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

/**
 * Connects to the servers of `options` (checking first that a single `nats://` server speaks
 * NATS). Rejects with a {@link NatsConnectionError} saying what to check.
 */
export async function openNatsConnection(options: ResolvedNatsOptions): Promise<NatsConnection> {
  try {
    return await connectUnlessForeign(connect(await natsConnectionOptions(options)), options);
  } catch (error) {
    if (error instanceof NatsConnectionError) throw error;
    throw new NatsConnectionError(
      `nats transport: cannot connect to ${options.endpoint}: ${describe(error)}. Check that nats-server runs there (with -js for JetStream) and the URL, credentials and TLS options.`,
      { cause: error },
    );
  }
}

/** Where a transport's connection is: its own state, and whether nats.js is replacing a lost connection. */
export type NatsLinkState = 'new' | 'connecting' | 'connected' | 'closed';

/** The {@link ConnectionState} reported for a transport in `state`; `reconnecting` while nats.js replaces a lost connection. */
export function connectionStateOf(state: NatsLinkState, reconnecting: boolean): ConnectionState {
  if (state === 'closed') return 'closed';
  if (state !== 'connected') return 'connecting';
  return reconnecting ? 'reconnecting' : 'connected';
}

/** What {@link watchConnection} reports. */
export interface ConnectionWatcher {
  /** The connection was lost; nats.js is reconnecting. */
  lost(): void;
  /** nats.js connected again. */
  back(): void;
}

/** Follows the connection's status until it closes, logging losses and reconnections. */
export async function watchConnection(nc: NatsConnection, options: ResolvedNatsOptions, watcher: ConnectionWatcher): Promise<void> {
  const logger = options.logger;
  for await (const status of nc.status()) {
    switch (status.type) {
      case 'disconnect':
        watcher.lost();
        logger.warn('nats transport: connection lost, reconnecting', { server: options.endpoint });
        break;
      case 'reconnect':
        logger.warn('nats transport: reconnected', { server: options.endpoint });
        watcher.back();
        break;
      default:
        break;
    }
  }
}

/** An error's message, for messages that explain it. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
