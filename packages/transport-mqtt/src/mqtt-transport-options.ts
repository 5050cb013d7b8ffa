import { hostname } from 'node:os';

import { BASE_OPTION_KEYS, ConfigurationError, OptionsReader, type BaseTransportOptions, type Logger, type TlsOptions } from '@cloudbus/core/transport';

import { isValidPrefix, safeName } from './mqtt-topics.js';

/** TLS settings for `mqtts://` and `wss://`, passed to Node's TLS socket: core's, as they are. */
export type MqttTlsOptions = TlsOptions;

/** Options of {@link MqttTransport}: core's base options (same names on every broker) and MQTT's own. */
export interface MqttTransportOptions extends BaseTransportOptions {
  /**
   * Broker URL: `mqtt://`, `mqtts://`, `ws://` or `wss://`, optionally with `user:password@`.
   * @default 'mqtt://localhost:1883'
   */
  readonly url?: string | undefined;
  /**
   * MQTT protocol version: 5, or 4 (MQTT 3.1.1, structured mode only) for older devices.
   * @default 5
   */
  readonly protocolVersion?: 4 | 5;
  /** TLS settings for `mqtts://` and `wss://`. */
  readonly tls?: MqttTlsOptions;
  /**
   * First level of every topic: events go to `<prefix>/...`, redeliveries to `<prefix>-redeliver/...`,
   * dead letters to `<prefix>-deadletter/...`. No `+`, `#`, empty level or leading `$`.
   * @default 'cloudbus'
   */
  readonly topicPrefix?: string;
  /** The service, for the publisher's client id. @default 'cloudbus' */
  readonly service?: string;
  /**
   * Names this process's short-lived connections (publishing, reading dead letters) in their client
   * ids, `<prefix>--<connectionName>--pub--<random>`, and in the transport's log lines. The
   * subscriptions' client ids do not use it: they must stay stable for their sessions to resume.
   * @default the service
   */
  readonly connectionName?: string;
  /**
   * What identifies this process instance across restarts (a host name, a StatefulSet pod name).
   * Part of each subscription's client id, so a restarted instance resumes its persistent
   * sessions and gets back what it had not acknowledged.
   * @default os.hostname()
   */
  readonly instanceId?: string;
  /**
   * How long the broker keeps a subscription's session (and the messages queued for it) while
   * its consumer is offline, in seconds. MQTT 5 only (3.1.1 sessions last as the broker decides).
   * @default 604_800 (7 days)
   */
  readonly sessionExpirySeconds?: number;
  /**
   * Receive Maximum of each subscription's connection: how many messages the broker may have sent
   * and not had acknowledged. Mosquitto keeps `max_queued_messages` (1,000 by default) beyond it
   * for an online client and silently drops the rest, so it must be well above the handler's
   * concurrency. Messages beyond the handler's concurrency wait in this process.
   * @default 4096
   */
  readonly receiveMaximum?: number;
  /**
   * Most publishes awaiting their PUBACK at once on the publishing connection; more wait their turn.
   * @default 1000
   */
  readonly publishWindow?: number;
  /**
   * How long a publish may wait for its PUBACK (including while reconnecting) before `publish`
   * rejects with a `PublishError` listing the ids not confirmed.
   * @default 30_000
   */
  readonly publishTimeoutMs?: number;
  /**
   * Largest encoded message (body, properties) accepted, in bytes.
   * @default 1_048_576 (1 MiB)
   */
  readonly maxMessageBytes?: number;
  /** How long `connect()` and each subscription wait for the broker's CONNACK, in ms. @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** Keep-alive interval, in seconds. @default 30 */
  readonly keepaliveSeconds?: number;
  /** First reconnect delay after a lost connection, in ms; doubles up to `reconnectMaxDelayMs`. @default 500 */
  readonly reconnectMinDelayMs?: number;
  /** Longest reconnect delay, in ms. @default 30_000 */
  readonly reconnectMaxDelayMs?: number;
  /**
   * Whether the broker persists sessions and retained messages (Mosquitto `persistence true`), so
   * messages outlive a broker restart. Reported as `capabilities.durable`.
   * @default true
   */
  readonly durable?: boolean;
  /**
   * How long the broker keeps a dead letter (a retained message), in seconds: its MQTT 5 Message
   * Expiry Interval; 0 keeps it until read. MQTT 3.1.1 has no expiry: dead letters stay.
   * @default 2_592_000 (30 days)
   */
  readonly deadLetterExpirySeconds?: number;
  /**
   * Where connection losses, reconnections and settle failures are reported (never with
   * credentials); pino, winston and bunyan loggers work as they are.
   * @default the bus's logger when created through the registry, else consoleLogger
   */
  readonly logger?: Logger | object | undefined;
}

/** Options with defaults applied and validated, the URL split from its credentials. */
export interface ResolvedMqttOptions {
  /** The URL without credentials: safe to show. */
  readonly url: string;
  readonly protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss';
  readonly protocolVersion: 4 | 5;
  readonly username: string | undefined;
  /** Not enumerable: absent from logs and JSON. */
  readonly password: string | undefined;
  readonly tls: MqttTlsOptions;
  readonly topicPrefix: string;
  readonly service: string;
  /** Safe for a client id (see `safeName`). */
  readonly connectionName: string;
  readonly instanceId: string;
  readonly sessionExpirySeconds: number;
  readonly receiveMaximum: number;
  readonly publishWindow: number;
  readonly publishTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly connectTimeoutMs: number;
  readonly keepaliveSeconds: number;
  readonly reconnectMinDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly durable: boolean;
  readonly deadLetterExpirySeconds: number;
  readonly logger: Logger;
}

/** Where the transport connects when no URL is given. */
export const DEFAULT_URL = 'mqtt://localhost:1883';
/** {@link DEFAULT_URL}, under the name the package exported first. */
export const DEFAULT_MQTT_URL = DEFAULT_URL;
/** The first level of every topic when no `topicPrefix` is given. */
export const DEFAULT_TOPIC_PREFIX = 'cloudbus';
const PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);

/** What MQTT takes besides core's base options. */
const MQTT_OPTION_KEYS = [
  ...BASE_OPTION_KEYS,
  'protocolVersion',
  'topicPrefix',
  'service',
  'instanceId',
  'sessionExpirySeconds',
  'receiveMaximum',
  'publishWindow',
  'maxMessageBytes',
  'keepaliveSeconds',
  'durable',
  'deadLetterExpirySeconds',
] as const satisfies readonly (keyof MqttTransportOptions)[];
/** Applies defaults and validates, once, at construction. Throws `ConfigurationError` saying how to fix the option; refuses unknown keys. */
export function resolveMqttOptions(options: MqttTransportOptions): ResolvedMqttOptions {
  const read: OptionsReader = new OptionsReader('mqtt', options, MQTT_OPTION_KEYS);
  const raw = (read.value('url') as string | undefined) ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch (error) {
    throw new ConfigurationError(`mqtt transport: the URL is not valid; use mqtt://host:1883, mqtts://host:8883, ws://host/mqtt or wss://host/mqtt.`, { cause: error });
  }
  if (!PROTOCOLS.has(parsed.protocol)) {
    read.fail(`URL scheme '${parsed.protocol}//' is not supported; use mqtt://, mqtts://, ws:// or wss://.`);
  }
  const urlUser = parsed.username === '' ? undefined : decodeURIComponent(parsed.username);
  const urlPassword = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const protocolVersion = read.oneOf('protocolVersion', [5, 4], 5);
  const topicPrefix: unknown = read.value('topicPrefix') ?? DEFAULT_TOPIC_PREFIX;
  if (typeof topicPrefix !== 'string' || !isValidPrefix(topicPrefix)) {
    read.fail(`topicPrefix '${String(topicPrefix)}' is not a usable topic prefix: no '+', '#', NUL, empty level, or leading '$'.`);
  }
  const service = read.text('service', 'cloudbus');
  const instanceId = read.optionalText('instanceId') ?? hostname();
  const reconnectMinDelayMs = read.integer('reconnectMinDelayMs', 10, 500, 3_600_000);
  const reconnectMaxDelayMs = read.integer('reconnectMaxDelayMs', reconnectMinDelayMs, 30_000, 3_600_000);
  const resolved: ResolvedMqttOptions = {
    url: parsed.href,
    protocol: parsed.protocol.slice(0, -1) as ResolvedMqttOptions['protocol'],
    protocolVersion,
    username: read.optionalText('username') ?? urlUser,
    password: (read.value('password') as string | undefined) ?? urlPassword,
    tls: read.tls() ?? {},
    topicPrefix,
    service: safeName(service),
    connectionName: safeName(read.text('connectionName', service)),
    instanceId: safeName(instanceId),
    sessionExpirySeconds: read.integer('sessionExpirySeconds', 1, 604_800, 0xffff_ffff),
    receiveMaximum: read.integer('receiveMaximum', 1, 4096, 65_535),
    publishWindow: read.integer('publishWindow', 1, 1000, 65_000),
    publishTimeoutMs: read.integer('publishTimeoutMs', 1, 30_000, 86_400_000),
    maxMessageBytes: read.integer('maxMessageBytes', 1024, 1_048_576, 268_435_000),
    connectTimeoutMs: read.integer('connectTimeoutMs', 100, 10_000, 600_000),
    keepaliveSeconds: read.integer('keepaliveSeconds', 0, 30, 65_535),
    reconnectMinDelayMs,
    reconnectMaxDelayMs,
    durable: read.boolean('durable', true),
    deadLetterExpirySeconds: read.integer('deadLetterExpirySeconds', 0, 2_592_000, 0xffff_ffff),
    logger: read.logger(),
  };
  // The password stays usable but out of logs and JSON: not enumerable.
  Object.defineProperty(resolved, 'password', { value: resolved.password, enumerable: false });
  return Object.freeze(resolved);
}
