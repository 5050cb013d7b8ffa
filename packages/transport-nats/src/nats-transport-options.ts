import { BASE_OPTION_KEYS, MAX_TIMER_MS, OptionsReader, type BaseTransportOptions, type Logger, type TlsOptions } from '@cloudbus/core/transport';

import { defaultDeadLetterSubjectPrefix, isLiteralSubject, isStreamName } from './subject-naming.js';

/**
 * TLS settings, passed to the NATS client (`tls` connection option): core's, and the NATS client's
 * own. A `…File` path is read at connect and wins over the PEM given inline.
 */
export interface NatsTlsOptions extends TlsOptions {
  /** Path of a CA certificates file (PEM). */
  readonly caFile?: string | undefined;
  /** Path of the client certificate file (PEM). */
  readonly certFile?: string | undefined;
  /** Path of the client private key file (PEM). */
  readonly keyFile?: string | undefined;
  /**
   * Open TLS before the NATS handshake (servers configured with `handshake_first`).
   * @default false
   */
  readonly handshakeFirst?: boolean | undefined;
}

/**
 * How the client authenticates. One of them at most; user and password (or a token) may also be
 * in the URL (`nats://user:pass@host:4222`, `nats://token@host:4222`). Never logged, never in an
 * error message.
 */
export type NatsAuth =
  | { readonly user: string; readonly pass: string }
  | { readonly token: string }
  | { /** NKEY seed (`SU...`), as text. */ readonly nkeySeed: string }
  | { /** Path of a `.creds` file (JWT and NKEY seed). */ readonly credsFile: string }
  | { /** Contents of a `.creds` file. */ readonly creds: string };

/** Where a new durable consumer starts reading its stream. */
export type NatsStartPosition = 'new' | 'all';

/**
 * Options of {@link NatsTransport}: core's base options (same names on every broker) and
 * JetStream's own. Validated once, at construction; unknown keys are refused.
 */
export interface NatsTransportOptions extends BaseTransportOptions {
  /**
   * Server URL, or several separated by commas: `nats://host:4222`, `tls://host:4222`.
   * @default 'nats://localhost:4222'
   */
  readonly url?: string | undefined;
  /** Credentials; override those in the URL. Not together with `username`/`password`. @default the URL's, else none */
  readonly auth?: NatsAuth | undefined;
  /**
   * User name, with `password`: the same as `auth: { user, pass }` (overrides credentials in the
   * URL; refused together with `auth`).
   * @default the URL's, else none
   */
  readonly username?: string | undefined;
  /** Password, with `username`. Never logged, never in an error. */
  readonly password?: string | undefined;
  /**
   * TLS settings. Given, or with a `tls://` URL (which turns TLS on with the defaults), TLS is
   * required: a server that offers none is refused before any credential is sent.
   * @default none (plain TCP, unless the server requires TLS)
   */
  readonly tls?: NatsTlsOptions | undefined;
  /**
   * The stream capturing events, created (file storage) or updated at connect.
   * @default 'CLOUDBUS'
   */
  readonly stream?: string | undefined;
  /**
   * First subject token(s): events of type `t` are published to `<subjectPrefix>.<t>`, and the
   * stream captures `<subjectPrefix>.>`.
   * @default 'cloudbus'
   */
  readonly subjectPrefix?: string | undefined;
  /**
   * The dead-letter stream (file storage, kept until deleted), created or updated at connect.
   * @default 'CLOUDBUS_DLQ'
   */
  readonly deadLetterStream?: string | undefined;
  /**
   * Prefix of dead-letter subjects: a dead letter of a message published to subject `s` is stored
   * under `<deadLetterSubjectPrefix>.<s>`. Must not overlap `subjectPrefix`.
   * @default '<subjectPrefix>_dlq'
   */
  readonly deadLetterSubjectPrefix?: string | undefined;
  /**
   * How long the server waits for a delivery to be settled before redelivering it, in ms. Handlers
   * running longer are kept alive with progress signals, so this is about crashed processes.
   * @default 30_000
   */
  readonly ackWaitMs?: number | undefined;
  /**
   * Most deliveries of one message to a consumer (`-1`: no limit). Core decides dead-lettering
   * from its retry policy; a limit here at or below the policy's attempts would make the server
   * drop messages silently, so keep it unlimited or above every retry policy.
   * @default -1
   */
  readonly maxDeliver?: number | undefined;
  /**
   * Most unsettled deliveries of a durable consumer, across every instance sharing it.
   * @default the subscription's concurrency
   */
  readonly maxAckPending?: number | undefined;
  /**
   * Window in which the stream drops a message whose id (`Nats-Msg-Id` = CloudEvent id) it has
   * already stored, in ms.
   * @default 120_000 (2 minutes)
   */
  readonly duplicateWindowMs?: number | undefined;
  /**
   * Copies JetStream keeps of each stream the transport creates (events and dead letters): 1 on a
   * single server; 3 (or 5) on a cluster, so a stream survives the loss of a server. Applied when
   * the transport creates a stream; a stream that already exists keeps its own (a warning is
   * logged when it differs). More replicas than the cluster has JetStream servers fail at connect
   * with a `NatsConnectionError` saying so.
   * @default 1
   */
  readonly replicas?: number | undefined;
  /**
   * Age after which the stream discards events, in ms; 0 keeps them until the stream is deleted
   * or purged (JetStream's own default). Applied to an existing stream at connect too. Events a
   * durable consumer has not acknowledged by then are lost to it, so keep it well above the
   * longest time a service may be down.
   * @default 604_800_000 (7 days)
   */
  readonly maxAgeMs?: number | undefined;
  /**
   * Age after which the dead-letter stream discards dead letters, in ms (0: never).
   * @default 2_592_000_000 (30 days)
   */
  readonly deadLetterMaxAgeMs?: number | undefined;
  /**
   * Where a durable consumer created for the first time starts: `new` (only events published
   * from then on, as a queue bound at that moment) or `all` (everything the stream holds).
   * @default 'new'
   */
  readonly startFrom?: NatsStartPosition | undefined;
  /**
   * Longest wait for a JetStream answer (publish acknowledgement, stream and consumer requests), in ms.
   * @default 10_000
   */
  readonly publishTimeoutMs?: number | undefined;
  /** @deprecated the former name of `publishTimeoutMs`, still read. */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Longest wait for the first connection, in ms.
   * @default 10_000
   */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Reconnection attempts after the connection is lost (`-1`: forever).
   * @default -1
   */
  readonly maxReconnectAttempts?: number | undefined;
  /**
   * Wait between reconnection attempts to one server, in ms.
   * @default 1_000
   */
  readonly reconnectTimeWaitMs?: number | undefined;
  // connectionName (default: the service name, through the registry) and logger (default: the
  // bus's logger, else consoleLogger) are core's base options.
}

/** Options with defaults applied and checked. */
export interface ResolvedNatsOptions {
  readonly servers: readonly string[];
  readonly auth: NatsAuth | undefined;
  readonly tls: NatsTlsOptions | undefined;
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly deadLetterStream: string;
  readonly deadLetterSubjectPrefix: string;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly maxAckPending: number | undefined;
  readonly duplicateWindowMs: number;
  readonly maxAgeMs: number;
  readonly deadLetterMaxAgeMs: number;
  readonly replicas: number;
  readonly startFrom: NatsStartPosition;
  readonly publishTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxReconnectAttempts: number;
  readonly reconnectTimeWaitMs: number;
  readonly connectionName: string | undefined;
  readonly logger: Logger;
  /** The servers without credentials, for messages. */
  readonly endpoint: string;
}

/** The default server URL, used only when none is given. */
export const DEFAULT_URL = 'nats://localhost:4222';
/** The default events stream (`stream`). */
export const DEFAULT_STREAM = 'CLOUDBUS';
/** The default dead-letter stream (`deadLetterStream`). */
export const DEFAULT_DEAD_LETTER_STREAM = 'CLOUDBUS_DLQ';
/** The default first subject token of events (`subjectPrefix`). */
export const DEFAULT_SUBJECT_PREFIX = 'cloudbus';

/** Most replicas JetStream allows for a stream. */
const MAX_REPLICAS = 5;

const SCHEMES = new Set(['nats:', 'tls:', 'ws:', 'wss:']);

const DAY_MS = 86_400_000;

/** Base options nats.js has no counterpart for: it waits `reconnectTimeWaitMs` between attempts to a server, without backoff. */
const UNMAPPED_BASE_KEYS = new Set<string>(['reconnectMinDelayMs', 'reconnectMaxDelayMs']);

/** Every option the transport reads. */
const OPTION_KEYS: readonly string[] = [
  ...BASE_OPTION_KEYS.filter((key) => !UNMAPPED_BASE_KEYS.has(key)),
  'auth',
  'stream',
  'subjectPrefix',
  'deadLetterStream',
  'deadLetterSubjectPrefix',
  'ackWaitMs',
  'maxDeliver',
  'maxAckPending',
  'duplicateWindowMs',
  'replicas',
  'maxAgeMs',
  'deadLetterMaxAgeMs',
  'startFrom',
  'maxReconnectAttempts',
  'reconnectTimeWaitMs',
];

/** Former names still read. */
const RENAMED = { requestTimeoutMs: 'publishTimeoutMs' };

function decode(read: OptionsReader, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return read.fail(`the ${what} in the URL is not valid percent-encoding.`);
  }
}

interface ParsedUrl {
  readonly servers: string[];
  /** True when a server is given as `tls://`: TLS is then required of every server. */
  readonly tls: boolean;
  readonly auth: NatsAuth | undefined;
  readonly endpoint: string;
}

/** Splits the URL list into servers without credentials, and the credentials of the first URL that has some. */
function parseUrls(read: OptionsReader, url: string): ParsedUrl {
  const servers: string[] = [];
  const endpoints: string[] = [];
  let auth: NatsAuth | undefined;
  for (const part of url.split(',')) {
    const trimmed = part.trim();
    let parsed: URL;
    try {
      parsed = new URL(trimmed.includes('://') ? trimmed : `nats://${trimmed}`);
    } catch {
      // Never echo the URL: it may hold credentials.
      return read.fail(`the URL is not valid; use nats://[user:password@]host[:4222] (several separated by commas).`);
    }
    if (!SCHEMES.has(parsed.protocol)) read.fail(`the URL must start with nats://, tls://, ws:// or wss://, got '${parsed.protocol}//'.`);
    if (parsed.hostname === '') read.fail('the URL has no host; use nats://host:4222.');
    if (auth === undefined && parsed.username !== '') {
      const user = decode(read, parsed.username, 'user name');
      auth = parsed.password === '' ? { token: user } : { user, pass: decode(read, parsed.password, 'password') };
    }
    const server = `${parsed.protocol}//${parsed.host}`;
    servers.push(server);
    endpoints.push(server);
  }
  return { servers, auth, tls: servers.some((server) => server.startsWith('tls:')), endpoint: endpoints.join(',') };
}

/** The `auth` option, or `username` and `password` as `{ user, pass }`; undefined when none is given. */
function readAuth(read: OptionsReader): NatsAuth | undefined {
  const auth = read.value('auth');
  const username = read.optionalText('username');
  const password = read.optionalText('password');
  if (username !== undefined || password !== undefined) {
    if (auth !== undefined) read.fail('give either auth or username and password, not both.');
    if (username === undefined || password === undefined) {
      read.fail(`username and password go together${username === undefined ? '' : '; for a token alone use auth: { token }'}.`);
    }
    return { user: username, pass: password };
  }
  if (auth === undefined) return undefined;
  if (auth === null || typeof auth !== 'object') read.fail('auth must be { user, pass }, { token }, { nkeySeed }, { credsFile } or { creds }.');
  const keys = Object.keys(auth).sort().join(',');
  const record = auth as Record<string, unknown>;
  const strings = (...names: string[]) => names.every((name) => typeof record[name] === 'string' && record[name] !== '');
  if (keys === 'pass,user' && strings('user', 'pass')) return auth as NatsAuth;
  if (keys === 'token' && strings('token')) return auth as NatsAuth;
  if (keys === 'nkeySeed' && strings('nkeySeed')) return auth as NatsAuth;
  if (keys === 'credsFile' && strings('credsFile')) return auth as NatsAuth;
  if (keys === 'creds' && strings('creds')) return auth as NatsAuth;
  return read.fail('auth must be exactly one of { user, pass }, { token }, { nkeySeed }, { credsFile }, { creds }, with non-empty strings.');
}

/** The NATS client's TLS keys besides core's, and their kinds. */
const NATS_TLS_KEYS = { caFile: 'string', certFile: 'string', keyFile: 'string', handshakeFirst: 'boolean' } as const;

function subjectPrefixOption(read: OptionsReader, name: string, fallback: string): string {
  const prefix = read.text(name, fallback);
  if (!isLiteralSubject(prefix) || !/^[A-Za-z0-9_.-]+$/.test(prefix)) {
    read.fail(`${name} must be subject tokens of A-Z a-z 0-9 - _ separated by dots, such as 'cloudbus'; got '${prefix}'.`);
  }
  return prefix;
}

function streamOption(read: OptionsReader, name: string, fallback: string): string {
  const stream = read.text(name, fallback);
  if (!isStreamName(stream)) read.fail(`${name} must be 1 to 200 characters of A-Z a-z 0-9 - _, such as 'CLOUDBUS'; got '${stream}'.`);
  return stream;
}

/** A timer's wait in ms: an integer of at least `min`, at most what a Node timer keeps. */
function timer(read: OptionsReader, name: string, min: number, fallback: number): number {
  return read.integer(name, min, fallback, MAX_TIMER_MS);
}

/** Applies defaults and checks every option; throws `ConfigurationError` saying how to fix a bad one. */
export function resolveNatsOptions(options: NatsTransportOptions = {}): ResolvedNatsOptions {
  if (options !== null && typeof options === 'object') {
    for (const key of UNMAPPED_BASE_KEYS) {
      if ((options as Record<string, unknown>)[key] !== undefined) {
        new OptionsReader('nats', {}, []).fail(`${key} has no NATS counterpart: nats.js waits the same time between reconnection attempts to a server; use reconnectTimeWaitMs.`);
      }
    }
  }
  const read: OptionsReader = new OptionsReader('nats', options, OPTION_KEYS, RENAMED);
  const parsed = parseUrls(read, read.text('url', DEFAULT_URL));
  const auth = readAuth(read) ?? parsed.auth;
  const subjectPrefix = subjectPrefixOption(read, 'subjectPrefix', DEFAULT_SUBJECT_PREFIX);
  const deadLetterSubjectPrefix = subjectPrefixOption(read, 'deadLetterSubjectPrefix', defaultDeadLetterSubjectPrefix(subjectPrefix));
  if (`${deadLetterSubjectPrefix}.`.startsWith(`${subjectPrefix}.`) || `${subjectPrefix}.`.startsWith(`${deadLetterSubjectPrefix}.`)) {
    read.fail(`deadLetterSubjectPrefix '${deadLetterSubjectPrefix}' overlaps subjectPrefix '${subjectPrefix}'; choose one outside it, such as '${subjectPrefix}_dlq'.`);
  }
  const stream = streamOption(read, 'stream', DEFAULT_STREAM);
  const deadLetterStream = streamOption(read, 'deadLetterStream', DEFAULT_DEAD_LETTER_STREAM);
  if (stream === deadLetterStream) read.fail(`stream and deadLetterStream must differ; both are '${stream}'.`);
  const maxDeliver = read.integer('maxDeliver', -1, -1);
  if (maxDeliver === 0) read.fail('maxDeliver must be -1 (no limit) or a positive integer, got 0.');
  const replicas = read.value('replicas') ?? 1;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    read.fail(`replicas must be an integer from 1 to ${MAX_REPLICAS} (JetStream's limit; 1 on a single server, 3 or 5 on a cluster), got ${String(replicas)}.`);
  }
  return {
    servers: parsed.servers,
    auth,
    // A tls:// URL requires TLS: with a `tls` option set, the client refuses a server offering none before sending CONNECT.
    tls: read.tls<NatsTlsOptions>(NATS_TLS_KEYS) ?? (parsed.tls ? {} : undefined),
    stream,
    subjectPrefix,
    deadLetterStream,
    deadLetterSubjectPrefix,
    ackWaitMs: read.integer('ackWaitMs', 100, 30_000),
    maxDeliver,
    maxAckPending: read.optionalInteger('maxAckPending', 1),
    duplicateWindowMs: read.integer('duplicateWindowMs', 100, 120_000),
    maxAgeMs: read.integer('maxAgeMs', 0, 7 * DAY_MS),
    deadLetterMaxAgeMs: read.integer('deadLetterMaxAgeMs', 0, 30 * DAY_MS),
    replicas,
    startFrom: read.oneOf<NatsStartPosition>('startFrom', ['new', 'all'], 'new'),
    publishTimeoutMs: timer(read, 'publishTimeoutMs', 100, 10_000),
    connectTimeoutMs: timer(read, 'connectTimeoutMs', 100, 10_000),
    maxReconnectAttempts: read.integer('maxReconnectAttempts', -1, -1),
    reconnectTimeWaitMs: timer(read, 'reconnectTimeWaitMs', 10, 1_000),
    connectionName: read.optionalText('connectionName'),
    logger: read.logger(),
    endpoint: parsed.endpoint,
  };
}
