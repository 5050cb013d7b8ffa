import { BASE_OPTION_KEYS, OptionsReader, TLS_OPTION_KEYS, type BaseTransportOptions, type Logger, type TlsOptions } from '@cloudbus/core/transport';

/** TLS settings for `amqps://`: core's, and what Node's `tls.connect` takes besides for RabbitMQ. */
export interface RabbitMqTlsOptions extends TlsOptions {
  /** Passphrase of `key`. */
  readonly passphrase?: string | undefined;
  /**
   * Server name for SNI and certificate checking.
   * @default the URL's host name
   */
  readonly servername?: string | undefined;
}

/** Queue type of the subscription (and retry) queues. */
export type RabbitMqQueueType = 'quorum' | 'classic';

/**
 * Options of {@link RabbitMqTransport}: core's base options (same names on every broker) and
 * RabbitMQ's own. Validated once, at construction; unknown keys are refused.
 */
export interface RabbitMqTransportOptions extends BaseTransportOptions {
  /**
   * Broker URL, `amqp://` or `amqps://`: `amqp://user:password@host:5672/vhost?heartbeat=30`.
   * The virtual host is the URL path, percent-encoded (`%2F` for `/`).
   *
   * A cluster's nodes as a comma-separated list (`amqp://rabbit-1,amqp://rabbit-2,amqp://rabbit-3`),
   * all on the same virtual host: the transport connects to the first that answers, and when a
   * connection is lost or stuck it reconnects to the next node in the list first.
   *
   * Without credentials in the URL or in `username` and `password`, the transport logs in as
   * `guest` / `guest`.
   * @default 'amqp://localhost:5672'
   */
  readonly url?: string | undefined;
  /** TLS settings; only with an `amqps://` URL. */
  readonly tls?: RabbitMqTlsOptions | undefined;
  /**
   * The topic exchange events are published to.
   * @default 'cloudbus.events'
   */
  readonly exchange?: string | undefined;
  /**
   * The dead-letter queue, and the fanout exchange of the same name in front of it.
   * @default 'cloudbus.deadletter'
   */
  readonly deadLetterQueue?: string | undefined;
  /**
   * How long the dead-letter queue keeps a dead letter, in ms (`x-message-ttl`); 0 keeps them until
   * read. Set when the queue is created: an existing one keeps its own (change it with a policy).
   * @default 2_592_000_000 (30 days)
   */
  readonly deadLetterTtlMs?: number | undefined;
  /**
   * Prefix of the retry topology: the headers exchange `<retryPrefix>` and the delay queues
   * `<retryPrefix>.<delayMs>`.
   * @default 'cloudbus.retry'
   */
  readonly retryPrefix?: string | undefined;
  /**
   * Prefix put before `SubscriptionSpec.name` to name the subscription queues.
   * @default '' (the queue is named exactly as the subscription, `<service>.<handler>`)
   */
  readonly queuePrefix?: string | undefined;
  /**
   * Type of the subscription, retry and dead-letter queues. Quorum queues are replicated and count
   * redeliveries; classic queues are lighter, and live on one node of a cluster. An existing queue
   * keeps its type: changing this needs the queue deleted first (a dead-letter queue of another
   * type is used as it is).
   * @default 'quorum'
   */
  readonly queueType?: RabbitMqQueueType | undefined;
  /**
   * Largest encoded message accepted, in bytes. Keep it at or under the broker's
   * `max_message_size` (16 MiB by default on RabbitMQ 4).
   * @default 16_777_216 (16 MiB)
   */
  readonly maxMessageBytes?: number | undefined;
  /**
   * Heartbeat interval asked of the broker, in seconds (0 turns heartbeats off).
   * @default 30, or the URL's `heartbeat` query parameter
   */
  readonly heartbeatSeconds?: number | undefined;
  /**
   * Longest wait for the TCP (and TLS) connection to open, in ms.
   * @default 10_000
   */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * First wait before reconnecting after the connection is lost, in ms; doubled on each failed
   * attempt up to {@link reconnectMaxDelayMs}.
   * @default 100
   */
  readonly reconnectMinDelayMs?: number | undefined;
  /**
   * Longest wait between reconnection attempts, in ms.
   * @default 5_000
   */
  readonly reconnectMaxDelayMs?: number | undefined;
  /**
   * Most messages held while the connection is down, waiting to be published. A publish that
   * would go over is rejected at once with a `PublishError`.
   * @default 10_000
   */
  readonly publishBufferSize?: number | undefined;
  /**
   * Longest time a held publish waits for the connection to come back before it is rejected
   * with a `PublishError`, in ms.
   * @default 30_000
   */
  readonly publishBufferTimeoutMs?: number | undefined;
  /**
   * Longest wait for the broker to answer one step of setting up a connection or a channel, in ms:
   * declaring the shared topology, opening the publishing channel (with confirms), starting one
   * subscription (declaring its queue and bindings, prefetch, consume), declaring a retry queue.
   * A broker that accepts the connection but leaves a step unanswered (a queue stuck just after a
   * broker restart) would otherwise stall the transport for good: past this bound the connection is
   * dropped (closed within `closeTimeoutMs`, then its socket destroyed) and the transport connects
   * again with the usual backoff. A `connect()` whose set-up times out rejects with
   * `RabbitMqConnectionError`.
   * @default 30_000
   */
  readonly setupTimeoutMs?: number | undefined;
  /**
   * Longest wait for the broker to confirm a publish, in ms, counted from when its batch is handed
   * to the publishing channel. Past it the batch rejects with `PublishError` naming every message
   * not confirmed yet (they may or may not be stored; confirms arriving later are ignored), and,
   * unless the broker is blocking publishers (resource alarm), the connection is taken for stuck:
   * it is dropped and the transport connects again.
   * @default 30_000
   */
  readonly publishTimeoutMs?: number | undefined;
  /** @deprecated the former name of `publishTimeoutMs`, still read. */
  readonly confirmTimeoutMs?: number | undefined;
  /**
   * Longest wait for the broker when closing, in ms: `close()` (confirms of publishes in flight,
   * closing the channels and the connection) settles within it, and so does each subscription's
   * `stop()` and `close()`. Past it the connection is taken for dead (blackholed, half-open) and its
   * socket destroyed: unconfirmed publishes reject with `PublishError`, and the broker returns
   * unsettled deliveries to their queues when it notices the connection is gone.
   * @default 5_000
   */
  readonly closeTimeoutMs?: number | undefined;
  // connectionName (shown in the management UI; default: the service name, through the registry)
  // and logger (default: the bus's logger, else consoleLogger) are core's base options.
}

/** One broker node of `url`: where to connect and as whom. */
export interface RabbitMqNode {
  readonly protocol: 'amqp' | 'amqps';
  readonly hostname: string;
  readonly port: number;
  readonly vhost: string;
  readonly username: string;
  readonly password: string;
  readonly frameMax: number | undefined;
  /** The node without credentials, for messages: `amqp://host:5672/vhost`. */
  readonly endpoint: string;
}

/** The options in force: the first node's connection settings at the top, every node in `nodes`. */
export interface ResolvedRabbitMqOptions extends Omit<RabbitMqNode, 'endpoint'> {
  /** The nodes of `url`, in its order (one for a single broker). */
  readonly nodes: readonly RabbitMqNode[];
  readonly tls: RabbitMqTlsOptions | undefined;
  readonly exchange: string;
  readonly deadLetterQueue: string;
  readonly deadLetterTtlMs: number;
  readonly retryPrefix: string;
  readonly queuePrefix: string;
  readonly queueType: RabbitMqQueueType;
  readonly maxMessageBytes: number;
  readonly heartbeatSeconds: number;
  readonly connectTimeoutMs: number;
  readonly reconnectMinDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly publishBufferSize: number;
  readonly publishBufferTimeoutMs: number;
  readonly setupTimeoutMs: number;
  readonly publishTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly connectionName: string | undefined;
  readonly logger: Logger;
  /** The endpoint(s) without credentials, for messages: `amqp://host:5672/vhost`, comma-separated for a cluster. */
  readonly endpoint: string;
}

/** The default broker URL, used only when none is given. */
export const DEFAULT_URL = 'amqp://localhost:5672';
/** The default topic exchange of events (`exchange`). */
export const DEFAULT_EXCHANGE = 'cloudbus.events';
/** The default dead-letter queue, and fanout exchange of the same name (`deadLetterQueue`). */
export const DEFAULT_DEAD_LETTER_QUEUE = 'cloudbus.deadletter';
/** The default prefix of the retry exchange and queues (`retryPrefix`). */
export const DEFAULT_RETRY_PREFIX = 'cloudbus.retry';

const TLS_KEYS = [...TLS_OPTION_KEYS, 'passphrase', 'servername'] as const;

/** RabbitMQ's largest `x-message-ttl`: 2^32 - 1 ms (about 49.7 days). */
const MAX_TTL_MS = 4_294_967_295;

/** AMQP names are short strings (255 bytes); the transport's names stay under 200 to leave room for suffixes. */
const NAME_LIMIT = { maxBytes: 200, maxBytesReason: 'AMQP names are at most 255' } as const;

function decode(read: OptionsReader, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return read.fail(`the ${what} in the URL is not valid percent-encoding.`);
  }
}

/** Every option the transport reads. */
const OPTION_KEYS: readonly string[] = [
  ...BASE_OPTION_KEYS,
  'exchange',
  'deadLetterQueue',
  'deadLetterTtlMs',
  'retryPrefix',
  'queuePrefix',
  'queueType',
  'maxMessageBytes',
  'heartbeatSeconds',
  'publishBufferSize',
  'publishBufferTimeoutMs',
  'setupTimeoutMs',
  'closeTimeoutMs',
] satisfies readonly (keyof RabbitMqTransportOptions)[];

/** Former names still read. */
const RENAMED = { confirmTimeoutMs: 'publishTimeoutMs' };

/** Applies defaults and validates; throws `ConfigurationError` (never quoting credentials) on bad options. */
export function resolveRabbitMqOptions(options: RabbitMqTransportOptions = {}): ResolvedRabbitMqOptions {
  const read: OptionsReader = new OptionsReader('rabbitmq', options, OPTION_KEYS, RENAMED);
  const givenUrl = read.value('url');
  const rawUrl = givenUrl === undefined || givenUrl === '' ? DEFAULT_URL : givenUrl;
  if (typeof rawUrl !== 'string') read.fail('url must be a string such as amqp://user:password@host:5672/vhost.');
  const username = read.value('username');
  const password = read.value('password');
  if ((username !== undefined && typeof username !== 'string') || (password !== undefined && typeof password !== 'string')) read.fail('username and password must be strings.');
  const credentials = { username, password } as { readonly username: string | undefined; readonly password: string | undefined };
  const entries = rawUrl.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => entry === '')) read.fail('the URL list has an empty entry; separate the nodes with single commas: amqp://host-1,amqp://host-2.');
  const parsed = entries.map((entry, index) => parseNode(read, entry, entries.length === 1 ? 'the URL' : `URL ${index + 1} of ${entries.length}`, credentials));
  const nodes = parsed.map(({ node }) => node);
  const first = parsed[0]!;
  for (const node of nodes) {
    if (node.vhost !== first.node.vhost) read.fail(`the nodes of a cluster must share one virtual host; got '${first.node.vhost}' and '${node.vhost}'.`);
    if (node.protocol !== first.node.protocol) read.fail('the nodes of a cluster must all be amqp:// or all amqps://.');
  }
  const heartbeatFallback = first.heartbeat;

  const tls = read.tls<RabbitMqTlsOptions>({ passphrase: 'string', servername: 'string' });
  if (tls !== undefined && first.node.protocol !== 'amqps') read.fail('tls options are given but the URL is amqp://; use amqps:// to connect with TLS.');

  const reconnectMinDelayMs = read.integer('reconnectMinDelayMs', 1, 100);
  const reconnectMaxDelayMs = read.integer('reconnectMaxDelayMs', reconnectMinDelayMs, Math.max(5_000, reconnectMinDelayMs));
  const deadLetterTtlMs = read.integer('deadLetterTtlMs', 0, 30 * 86_400_000);
  if (deadLetterTtlMs > MAX_TTL_MS) {
    read.fail(`deadLetterTtlMs must be at most ${MAX_TTL_MS} (RabbitMQ's limit, about 49.7 days), or 0 to keep dead letters until read; got ${deadLetterTtlMs}.`);
  }

  const { protocol, hostname, port, vhost, frameMax } = first.node;
  return {
    protocol,
    hostname,
    port,
    vhost,
    username: first.node.username,
    password: first.node.password,
    frameMax,
    nodes,
    tls,
    exchange: read.text('exchange', DEFAULT_EXCHANGE, NAME_LIMIT),
    deadLetterQueue: read.text('deadLetterQueue', DEFAULT_DEAD_LETTER_QUEUE, NAME_LIMIT),
    deadLetterTtlMs,
    retryPrefix: read.text('retryPrefix', DEFAULT_RETRY_PREFIX, NAME_LIMIT),
    queuePrefix: read.text('queuePrefix', '', { ...NAME_LIMIT, allowEmpty: true }),
    queueType: read.oneOf<RabbitMqQueueType>('queueType', ['quorum', 'classic'], 'quorum'),
    maxMessageBytes: read.integer('maxMessageBytes', 1024, 16 * 1024 * 1024),
    heartbeatSeconds: read.integer('heartbeatSeconds', 0, heartbeatFallback),
    connectTimeoutMs: read.integer('connectTimeoutMs', 1, 10_000),
    reconnectMinDelayMs,
    reconnectMaxDelayMs,
    publishBufferSize: read.integer('publishBufferSize', 0, 10_000),
    publishBufferTimeoutMs: read.integer('publishBufferTimeoutMs', 1, 30_000),
    setupTimeoutMs: read.duration('setupTimeoutMs', 30_000),
    publishTimeoutMs: read.duration('publishTimeoutMs', 30_000),
    closeTimeoutMs: read.integer('closeTimeoutMs', 1, 5_000),
    connectionName: read.optionalText('connectionName', { allowEmpty: true }),
    logger: read.logger(),
    endpoint: nodes.map((node) => node.endpoint).join(','),
  };
}

/** Parses one entry of `url` (`what` names it in errors); `heartbeat` is its query's, or 30. */
function parseNode(
  read: OptionsReader,
  rawUrl: string,
  what: string,
  options: { readonly username: string | undefined; readonly password: string | undefined },
): { node: RabbitMqNode; heartbeat: number } {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    // The URL is not quoted: it may hold a password.
    return read.fail(`${what} is not valid; use amqp://user:password@host:5672/vhost or amqps://... (percent-encode special characters).`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'amqp' && scheme !== 'amqps') read.fail(`${what} must start with amqp:// or amqps://, got '${scheme}://'.`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (hostname === '') read.fail(`${what} has no host; use amqp://host:5672.`);
  const port = url.port === '' ? (scheme === 'amqps' ? 5671 : 5672) : Number(url.port);
  const path = url.pathname.startsWith('/') ? url.pathname.slice(1) : url.pathname;
  const vhost = path === '' ? '/' : decode(read, path, 'virtual host');

  const username = options.username ?? (url.username === '' && url.password === '' ? 'guest' : decode(read, url.username, 'user name'));
  const password = options.password ?? (url.username === '' && url.password === '' ? 'guest' : decode(read, url.password, 'password'));

  const query = url.searchParams;
  const heartbeatQuery = query.get('heartbeat');
  const heartbeat = heartbeatQuery === null ? 30 : Number(heartbeatQuery);
  if (!Number.isSafeInteger(heartbeat) || heartbeat < 0) read.fail(`${what} heartbeat parameter must be a whole number of seconds.`);
  const frameMaxQuery = query.get('frameMax') ?? query.get('frame_max');
  const frameMax = frameMaxQuery === null ? undefined : Number(frameMaxQuery);
  if (frameMax !== undefined && (!Number.isSafeInteger(frameMax) || frameMax < 4096)) read.fail(`${what} frameMax parameter must be an integer of at least 4096.`);
  const endpoint = `${scheme}://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}/${encodeURIComponent(vhost)}`;
  return { node: { protocol: scheme, hostname, port, vhost, username, password, frameMax, endpoint }, heartbeat };
}

/** What is handed to `amqplib.connect(url, socketOptions)`. */
export interface AmqpConnectArguments {
  readonly url: {
    readonly protocol: 'amqp' | 'amqps';
    readonly hostname: string;
    readonly port: number;
    readonly username: string;
    readonly password: string;
    readonly vhost: string;
    readonly heartbeat: number;
    readonly frameMax?: number;
  };
  readonly socketOptions: Record<string, unknown>;
}

/** Maps resolved options onto amqplib's connect arguments for `node` (the first by default): TLS settings go to the socket as they are. */
export function toAmqpConnectArguments(options: ResolvedRabbitMqOptions, node: RabbitMqNode = options.nodes[0]!): AmqpConnectArguments {
  const socketOptions: Record<string, unknown> = {
    timeout: options.connectTimeoutMs,
    noDelay: true,
    keepAlive: true,
    clientProperties: options.connectionName === undefined ? {} : { connection_name: options.connectionName },
  };
  const tls = options.tls;
  if (tls !== undefined) {
    for (const key of TLS_KEYS) {
      const value = tls[key];
      if (value !== undefined) socketOptions[key] = value;
    }
  }
  return {
    url: {
      protocol: node.protocol,
      hostname: node.hostname,
      port: node.port,
      username: node.username,
      password: node.password,
      vhost: node.vhost,
      heartbeat: options.heartbeatSeconds,
      ...(node.frameMax === undefined ? {} : { frameMax: node.frameMax }),
    },
    socketOptions,
  };
}
