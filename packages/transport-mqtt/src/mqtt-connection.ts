import type { Socket } from 'node:net';

import mqtt from 'mqtt';
import type { IClientOptions, IConnackPacket, MqttClient } from 'mqtt';

import { Backoff, foreignProtocolAt, type TlsOptions } from '@cloudbus/core/transport';

import { MqttConnectError } from './mqtt-errors.js';
import type { ResolvedMqttOptions } from './mqtt-transport-options.js';

/** One connection's identity and session settings. */
export interface ConnectionSpec {
  readonly clientId: string;
  /** Persistent session (false) or a fresh one (true). */
  readonly clean: boolean;
  /** Receive Maximum (MQTT 5). */
  readonly receiveMaximum?: number;
  /** Set before connecting, so no message of a resumed session arrives unhandled. */
  readonly prepare?: (client: MqttClient) => void;
}

/**
 * The credentials and TLS settings of mqtt.js's client options: the same for the transport and for
 * every tool that connects with its options (the inspector's tap).
 */
export function credentialOptions(options: ResolvedMqttOptions): IClientOptions {
  const { username, password, tls } = options;
  // mqtt.js hands ca, cert and key to Node's tls.connect, which takes PEM in every form core's `Pem` allows.
  const pem = (value: NonNullable<TlsOptions['ca'] | TlsOptions['key']>) => value as NonNullable<IClientOptions['ca'] & IClientOptions['cert']>;
  return {
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls.ca === undefined ? {} : { ca: pem(tls.ca) }),
    ...(tls.cert === undefined ? {} : { cert: pem(tls.cert) }),
    ...(tls.key === undefined ? {} : { key: pem(tls.key) }),
  };
}

/**
 * Opens an mqtt.js client and waits for its first CONNACK. Rejects with {@link MqttConnectError}
 * (no credentials in it) when the broker cannot be reached or refuses, and ends the client. Once
 * connected, the client reconnects on its own with a doubling delay (`reconnectMinDelayMs` up to
 * `reconnectMaxDelayMs`) and resumes its session; TCP no-delay is set on every new socket.
 */
export function openConnection(options: ResolvedMqttOptions, spec: ConnectionSpec): Promise<MqttClient> {
  const v5 = options.protocolVersion === 5;
  const properties: NonNullable<IClientOptions['properties']> = {};
  if (v5) {
    if (!spec.clean) properties.sessionExpiryInterval = options.sessionExpirySeconds;
    if (spec.receiveMaximum !== undefined) properties.receiveMaximum = spec.receiveMaximum;
    properties.maximumPacketSize = Math.min(268_435_455, options.maxMessageBytes + 65_536);
  }
  const clientOptions: IClientOptions = {
    clientId: spec.clientId,
    protocolVersion: options.protocolVersion,
    clean: spec.clean,
    keepalive: options.keepaliveSeconds,
    connectTimeout: options.connectTimeoutMs,
    reconnectPeriod: 0,
    resubscribe: true,
    manualConnect: true,
    properties,
    ...credentialOptions(options),
  };

  const client = mqtt.connect(options.url, clientOptions);
  // An 'error' without a listener would throw; connection errors are reported through close/reconnect.
  let lastError: string | undefined;
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  spec.prepare?.(client);
  const backoff = new Backoff(options.reconnectMinDelayMs, options.reconnectMaxDelayMs);
  let lost = false;
  const logger = options.logger;
  client.on('connect', () => {
    backoff.reset();
    client.options.reconnectPeriod = backoff.next();
    const stream = client.stream as Partial<Socket> | undefined;
    stream?.setNoDelay?.(true);
    if (lost) logger.warn('mqtt transport: reconnected', { url: options.url, connection: options.connectionName, clientId: spec.clientId });
    lost = false;
    lastError = undefined;
  });
  client.on('close', () => {
    // Doubling backoff: mqtt.js has scheduled this reconnect already; the next one waits longer.
    if (client.options.reconnectPeriod === 0) return;
    if (!lost) {
      logger.warn('mqtt transport: connection lost, reconnecting', { url: options.url, connection: options.connectionName, clientId: spec.clientId, error: lastError });
    } else {
      logger.debug('mqtt transport: reconnection failed, trying again', { url: options.url, connection: options.connectionName, clientId: spec.clientId, retryInMs: client.options.reconnectPeriod, error: lastError });
    }
    lost = true;
    client.options.reconnectPeriod = backoff.next();
  });

  return new Promise<MqttClient>((resolve, reject) => {
    const cleanup = () => {
      client.removeListener('connect', onConnect);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
    };
    const onConnect = (_packet: IConnackPacket) => {
      cleanup();
      resolve(client);
    };
    const refuse = (reason: string, cause?: unknown) => {
      cleanup();
      client.end(true);
      void foreignProtocolOf(options.url, reason).then((foreign) =>
        reject(
          new MqttConnectError(
            foreign === undefined
              ? `mqtt transport: cannot connect to ${options.url} as client '${spec.clientId}': ${reason}. ` +
                  `Check that the broker runs and the URL, credentials and TLS settings are right.`
              : `mqtt transport: ${options.url} is not an MQTT broker: ${foreign}. Point the URL at the MQTT broker (mqtt://host:1883).`,
            { ...(cause === undefined ? {} : { cause }), permanent: foreign !== undefined },
          ),
        ),
      );
    };
    const onError = (error: Error) => refuse(error.message, error);
    const onClose = () => refuse('the connection closed before the broker answered');
    client.once('connect', onConnect);
    client.once('error', onError);
    client.once('close', onClose);
    client.connect();
  });
}

/**
 * When a plain `mqtt://` connection failed in a way a foreign protocol explains (a packet mqtt.js
 * cannot parse, a connection closed before CONNACK), probes the port and says what speaks there.
 * Refusals, unknown hosts and the broker's own answers are left to the client's message.
 */
async function foreignProtocolOf(url: string, reason: string): Promise<string | undefined> {
  if (!url.startsWith('mqtt://') || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|Not authorized|Bad User|Identifier rejected|Server unavailable|Connection refused/i.test(reason)) {
    return undefined;
  }
  return foreignProtocolAt(url, 1883, 'MQTT');
}

/**
 * Ends a client: sends DISCONNECT when connected, closes the socket either way. With
 * `expireSession` (MQTT 5), the DISCONNECT sets the Session Expiry Interval to 0: the broker
 * deletes the session.
 */
export function endConnection(client: MqttClient, expireSession = false): Promise<void> {
  client.options.reconnectPeriod = 0;
  return new Promise((resolve) => {
    if (!client.connected) {
      client.end(true, () => resolve());
      return;
    }
    const timer = setTimeout(() => client.end(true, () => resolve()), 5_000);
    client.end(false, expireSession ? { properties: { sessionExpiryInterval: 0 } } : {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
