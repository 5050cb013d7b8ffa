import { readFile } from 'node:fs/promises';

import { credsAuthenticator, nkeyAuthenticator, type NodeConnectionOptions } from '@nats-io/transport-node';

import { NatsConnectionError } from './nats-connection-error.js';
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
    connection.tls = {};
    if (tls.ca !== undefined) connection.tls.ca = tls.ca;
    if (tls.caFile !== undefined) connection.tls.caFile = tls.caFile;
    if (tls.cert !== undefined) connection.tls.cert = tls.cert;
    if (tls.certFile !== undefined) connection.tls.certFile = tls.certFile;
    if (tls.key !== undefined) connection.tls.key = tls.key;
    if (tls.keyFile !== undefined) connection.tls.keyFile = tls.keyFile;
    if (tls.handshakeFirst !== undefined) connection.tls.handshakeFirst = tls.handshakeFirst;
    if (tls.rejectUnauthorized !== undefined) connection.tls.rejectUnauthorized = tls.rejectUnauthorized;
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
