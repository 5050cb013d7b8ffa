import { ConfigurationError } from '@cloudbus/core';
import { resolveMqttOptions, type ResolvedMqttOptions } from '@cloudbus/transport-mqtt';
import { resolveNatsOptions, type NatsAuth, type ResolvedNatsOptions } from '@cloudbus/transport-nats';
import { resolveRabbitMqOptions, type ResolvedRabbitMqOptions } from '@cloudbus/transport-rabbitmq';

import type { ConnectionProfile } from '../../shared/connection-profile.js';
import type { BrokerTap } from './broker-tap.js';
import { MqttTap } from './mqtt-tap.js';
import { NatsTap } from './nats-tap.js';
import { RabbitMqTap } from './rabbitmq-tap.js';

const CONNECTION_NAME = 'cloudbus-inspector';

function tlsOf(profile: ConnectionProfile): Record<string, string | boolean> | undefined {
  return profile.tls === undefined ? undefined : { ...profile.tls };
}

/**
 * The RabbitMQ transport's own options for a profile: `amqps://` and its `tls` settings, the
 * password from the password source. Checked by the transport's parser.
 */
export function rabbitMqTapConnection(profile: ConnectionProfile, secret: string | undefined): ResolvedRabbitMqOptions {
  const tls = tlsOf(profile);
  return resolveRabbitMqOptions({
    url: profile.url,
    ...(secret === undefined ? {} : { password: secret }),
    ...(tls === undefined ? {} : { tls }),
    ...(profile.exchange === undefined ? {} : { exchange: profile.exchange }),
    ...(profile.deadLetterExchange === undefined ? {} : { deadLetterQueue: profile.deadLetterExchange }),
    connectionName: CONNECTION_NAME,
  });
}

function natsAuth(profile: ConnectionProfile, secret: string | undefined): NatsAuth | undefined {
  if (profile.credsFile !== undefined) return { credsFile: profile.credsFile };
  if (secret === undefined) return undefined;
  switch (profile.secret ?? 'password') {
    case 'password': {
      const user = new URL(profile.url).username;
      if (user === '') throw new ConfigurationError(`Profile '${profile.id}': a NATS password needs a user in the URL (nats://user@host:4222), or set 'secret' to 'token', 'nkeySeed' or 'creds'.`);
      return { user: decodeURIComponent(user), pass: secret };
    }
    case 'token':
      return { token: secret };
    case 'nkeySeed':
      return { nkeySeed: secret };
    case 'creds':
      return { creds: secret };
  }
}

/**
 * The NATS transport's own options for a profile: a `tls://` URL requires TLS, `tls` settings,
 * and the credentials (user and password, token, NKEY seed, creds or a creds file). Checked by
 * the transport's parser; connected with the transport's `natsConnectionOptions`.
 */
export function natsTapConnection(profile: ConnectionProfile, secret: string | undefined): ResolvedNatsOptions {
  const tls = tlsOf(profile);
  const auth = natsAuth(profile, secret);
  const url = new URL(profile.url);
  if (auth !== undefined) {
    url.username = '';
    url.password = '';
  }
  return resolveNatsOptions({
    url: url.toString(),
    ...(auth === undefined ? {} : { auth }),
    ...(tls === undefined ? {} : { tls }),
    ...(profile.stream === undefined ? {} : { stream: profile.stream }),
    ...(profile.deadLetterStream === undefined ? {} : { deadLetterStream: profile.deadLetterStream }),
    ...(profile.subjectPrefix === undefined ? {} : { subjectPrefix: profile.subjectPrefix }),
    connectionName: CONNECTION_NAME,
    // Lost for good after these: the backend reports the tap failed and reopens it with backoff.
    maxReconnectAttempts: 10,
    reconnectTimeWaitMs: 2_000,
  });
}

/** The MQTT transport's own options for a profile: `mqtts://` / `wss://` and their `tls` settings, user and password. */
export function mqttTapConnection(profile: ConnectionProfile, secret: string | undefined): ResolvedMqttOptions {
  const tls = tlsOf(profile);
  return resolveMqttOptions({
    url: profile.url,
    ...(secret === undefined ? {} : { password: secret }),
    ...(tls === undefined ? {} : { tls }),
    ...(profile.topicPrefix === undefined ? {} : { topicPrefix: profile.topicPrefix }),
  });
}

/**
 * The tap of a profile. Every connection option goes through the transport's own option parser,
 * so a tap connects as the application's transport would (TLS, credentials); `secret` comes from
 * the backend's password source.
 */
export function createTap(profile: ConnectionProfile, secret: string | undefined): BrokerTap {
  switch (profile.broker) {
    case 'rabbitmq':
      return new RabbitMqTap({ connection: rabbitMqTapConnection(profile, secret) });
    case 'nats':
      return new NatsTap({ connection: natsTapConnection(profile, secret) });
    case 'mqtt':
      return new MqttTap({ connection: mqttTapConnection(profile, secret) });
  }
}
