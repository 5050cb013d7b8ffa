/** Broker kinds the inspector can tap. */
export type BrokerKind = 'rabbitmq' | 'nats' | 'mqtt';

export const BROKER_KINDS: readonly BrokerKind[] = ['rabbitmq', 'nats', 'mqtt'];

/**
 * Where and how to tap one broker. Kept in a JSON file, given by flags, or built from the
 * environment; never holds a password (see `passwordEnv`).
 */
export interface ConnectionProfile {
  /** Unique id of the profile, `[A-Za-z0-9_.-]+`. */
  readonly id: string;
  /** Shown in the UI. @default the id */
  readonly name: string;
  readonly broker: BrokerKind;
  /** Broker URL, without password (`amqp://guest@127.0.0.1:5672`, `nats://127.0.0.1:4222`, `mqtt://127.0.0.1:1883`). */
  readonly url: string;
  /** Environment variable holding the password (web mode); the desktop app keeps it with `safeStorage`. */
  readonly passwordEnv?: string | undefined;
  /** RabbitMQ: events exchange. @default 'cloudbus.events' */
  readonly exchange?: string | undefined;
  /** RabbitMQ: dead-letter exchange (and queue). @default 'cloudbus.deadletter' */
  readonly deadLetterExchange?: string | undefined;
  /** NATS: events stream. @default 'CLOUDBUS' */
  readonly stream?: string | undefined;
  /** NATS: dead-letter stream. @default 'CLOUDBUS_DLQ' */
  readonly deadLetterStream?: string | undefined;
  /** NATS: subject prefix of events. @default 'cloudbus' */
  readonly subjectPrefix?: string | undefined;
  /** MQTT: first topic level. @default 'cloudbus' */
  readonly topicPrefix?: string | undefined;
  /**
   * NATS: what the profile's secret (from `passwordEnv` or the desktop app's store) is: the
   * password of the URL's user, a token, an NKEY seed or the contents of a `.creds` file.
   * @default 'password'
   */
  readonly secret?: NatsSecretKind | undefined;
  /** NATS: path of a `.creds` file (JWT and NKEY seed), read when connecting. */
  readonly credsFile?: string | undefined;
  /**
   * The transport's `tls` option, passed through as it is and checked by the transport's own
   * option parser (RabbitMQ `amqps://`: ca, cert, key, passphrase, servername, rejectUnauthorized;
   * NATS: ca, caFile, cert, certFile, key, keyFile, handshakeFirst, rejectUnauthorized; MQTT
   * `mqtts://` / `wss://`: ca, cert, key, rejectUnauthorized).
   */
  readonly tls?: Readonly<Record<string, string | boolean>> | undefined;
}

/** What a NATS profile's secret is. */
export type NatsSecretKind = 'password' | 'token' | 'nkeySeed' | 'creds';

export const NATS_SECRET_KINDS: readonly NatsSecretKind[] = ['password', 'token', 'nkeySeed', 'creds'];

/** A profile and the state of its tap, as the UI shows it. */
export interface ProfileStatus {
  readonly profile: ConnectionProfile;
  readonly state: 'closed' | 'connecting' | 'open' | 'failed';
  /** Why it failed or closed, when it did. */
  readonly error?: string | undefined;
}
