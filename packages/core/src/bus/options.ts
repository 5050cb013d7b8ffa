import { DEFAULT_RECEIVE_LIMITS, type ContentMode, type ReceiveLimits } from '../envelope/wire-codec.js';
import { assertSource } from '../envelope/validation.js';
import { ConfigurationError } from '../errors.js';
import type { HandlerClass } from '../handlers/event-handler.js';
import { assertMiddleware, type Middleware } from '../middleware/middleware.js';
import { retry, type RetryPolicy } from '../policies/retry.js';
import { MemorySagaStore } from '../sagas/memory-saga-store.js';
import type { SagaStore } from '../sagas/saga-store.js';
import { systemClock, type Clock } from '../scheduling/clock.js';
import { MemoryScheduleCancellations, type ScheduleCancellations } from '../scheduling/schedule-cancellations.js';
import type { TelemetryPublishingOptions } from '../telemetry/telemetry-publisher.js';
import type { Transport } from '../transport/transport.js';
import { asLogger, consoleLogger, type Logger } from '../logger.js';

/** The transports cloudbus knows by name. Others can be registered with `registerTransport`. */
export type TransportName = 'memory' | 'rabbitmq' | 'nats' | 'mqtt';

/** Options of `cloudbus(...)` and `new EventBus(...)`. Validated once, at construction. */
export interface CloudbusOptions {
  /**
   * This service's name: prefixes every subscription (`<service>.<handler>`), so instances of one
   * service compete for its events while other services get their own copy. Falls back to the
   * `CLOUDBUS_SERVICE` environment variable.
   */
  readonly service?: string;
  /**
   * The transport, by name or as an instance. Falls back to `CLOUDBUS_TRANSPORT`.
   * @default 'memory'
   */
  readonly transport?: TransportName | (string & {}) | Transport;
  /**
   * Broker URL, or a comma-separated list of a cluster's servers where the transport takes one
   * (NATS). Falls back to `CLOUDBUS_URL`; each transport has its own default.
   */
  readonly url?: string;
  /** Options passed to the transport factory (see each transport's README). */
  readonly transportOptions?: Readonly<Record<string, unknown>>;
  /** Handler classes (`@EventHandler` or `@On`); bound in the container unless bound already. */
  readonly handlers?: readonly HandlerClass[];
  /**
   * The CloudEvent `source` of events this service publishes.
   * @default `/<service>`
   */
  readonly source?: string;
  /**
   * How events are put on the wire. Both modes are always accepted on receive.
   * @default the transport's `preferredContentMode`, else 'binary' (or 'structured' where the
   *   transport has no headers)
   */
  readonly contentMode?: ContentMode;
  /**
   * Retry policy of handlers that set none.
   * @default retry.exponential({ attempts: 5, initialDelayMs: 200, maxDelayMs: 30_000 })
   */
  readonly retry?: RetryPolicy;
  /**
   * Events each handler works on at once in this process, unless the handler sets its own.
   * @default 16
   */
  readonly concurrency?: number;
  /**
   * Largest encoded event published or accepted, in bytes; capped by the transport's own limit.
   * Larger events fail on publish with `MessageTooLargeError` and are dead-lettered unparsed on receive.
   * @default the transport's limit
   */
  readonly maxMessageBytes?: number;
  /**
   * Limits on what a received message may hold (number of extensions, header bytes, attribute
   * length, JSON nesting depth); each unset one keeps its default (see `ReceiveLimits`). A message
   * over a limit is dead-lettered as `invalid`, its record naming the limit.
   * @default DEFAULT_RECEIVE_LIMITS: 100 extensions, 32768 header bytes, 4096 characters, depth 64
   */
  readonly receiveLimits?: Partial<ReceiveLimits>;
  /**
   * How long `stop()` waits for handlers in flight before handing their events back to the broker.
   * @default 30_000
   */
  readonly drainTimeoutMs?: number;
  /**
   * How long `start()` keeps trying to reach a broker that refuses or does not answer, with
   * backoff between attempts, before it rejects. 0 tries once.
   * @default 60_000
   */
  readonly startTimeoutMs?: number;
  /** Middleware, outermost first. More can be added with `bus.use()` before `start()`. */
  readonly middleware?: readonly Middleware[];
  /**
   * Publish this bus's telemetry over its transport as `dev.cloudbus.telemetry` events, so the
   * inspector shows handler outcomes. `true` or options enable it; `CLOUDBUS_TELEMETRY=1` too.
   * @default false
   */
  readonly publishTelemetry?: boolean | TelemetryPublishingOptions;
  /**
   * Where the bus and its transport write what they do: at info what they connected to and
   * subscribed, at warn reconnections, dead letters and problems handled (failed acks, listener
   * errors), at debug scheduled retries. A console, winston, pino or bunyan logger works as it is.
   * @default the console, from the level in `CLOUDBUS_LOG_LEVEL` (info when unset)
   */
  readonly logger?: Logger | object;
  /**
   * Run this service's scheduler, so that `bus.schedule()` works: a subscription
   * (`<service>.cloudbus-scheduler`) where scheduled events wait, held by the broker, until due.
   * @default true when a handler is a `@Saga` (its timeouts are scheduled events), else false
   */
  readonly scheduler?: boolean;
  /**
   * Where `bus.cancelScheduled()` marks a schedule cancelled, checked when it comes due. Pass a
   * durable one shared by the service's instances for cancellations that hold across them and
   * across restarts.
   * @default a new MemoryScheduleCancellations (this process only)
   */
  readonly scheduleCancellations?: ScheduleCancellations;
  /**
   * Where sagas keep their state.
   * @default a new MemorySagaStore (this process only: use a durable one in production)
   */
  readonly sagaStore?: SagaStore;
  /**
   * The clock schedules and sagas read (`SagaContext.now()`, whether a schedule is due).
   * `createTestBus({ clock: 'virtual' })` passes a virtual one.
   * @default the system clock
   */
  readonly clock?: Clock;
}

/** Options after defaults, environment and validation. */
export interface ResolvedOptions {
  readonly service: string;
  readonly transport: string | Transport;
  readonly url: string | undefined;
  readonly transportOptions: Readonly<Record<string, unknown>>;
  readonly handlers: readonly HandlerClass[];
  readonly source: string;
  readonly contentMode: ContentMode | undefined;
  readonly retry: RetryPolicy;
  readonly concurrency: number;
  readonly maxMessageBytes: number | undefined;
  readonly receiveLimits: ReceiveLimits;
  readonly drainTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly middleware: readonly Middleware[];
  readonly publishTelemetry: TelemetryPublishingOptions | undefined;
  readonly logger: Logger;
  /** Undefined: decided at start (on when a handler is a saga). */
  readonly scheduler: boolean | undefined;
  readonly scheduleCancellations: ScheduleCancellations;
  readonly sagaStore: SagaStore;
  readonly clock: Clock;
}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(`cloudbus: ${name} must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

function receiveLimitsOf(limits: Partial<ReceiveLimits>): ReceiveLimits {
  return {
    maxExtensions: positiveInteger(limits.maxExtensions, 'receiveLimits.maxExtensions', DEFAULT_RECEIVE_LIMITS.maxExtensions),
    maxHeaderBytes: positiveInteger(limits.maxHeaderBytes, 'receiveLimits.maxHeaderBytes', DEFAULT_RECEIVE_LIMITS.maxHeaderBytes),
    maxAttributeLength: positiveInteger(limits.maxAttributeLength, 'receiveLimits.maxAttributeLength', DEFAULT_RECEIVE_LIMITS.maxAttributeLength),
    maxJsonDepth: positiveInteger(limits.maxJsonDepth, 'receiveLimits.maxJsonDepth', DEFAULT_RECEIVE_LIMITS.maxJsonDepth),
  };
}

function isTransport(value: unknown): value is Transport {
  return typeof value === 'object' && value !== null && typeof (value as Transport).subscribe === 'function';
}

function telemetryPublishing(option: boolean | TelemetryPublishingOptions | undefined, env: string | undefined): TelemetryPublishingOptions | undefined {
  if (option === false) return undefined;
  if (option === true) return {};
  if (option !== undefined) return option;
  return env === '1' || env === 'true' ? {} : undefined;
}

/** Applies the environment and defaults to the options and validates them. */
export function resolveOptions(options: CloudbusOptions, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const service = options.service ?? env['CLOUDBUS_SERVICE'];
  if (service === undefined || service === '') {
    throw new ConfigurationError(`cloudbus: set 'service' (or CLOUDBUS_SERVICE) to this service's name, e.g. cloudbus({ service: 'kitchen' }).`);
  }
  if (!SERVICE_NAME.test(service)) {
    throw new ConfigurationError(
      `cloudbus: service '${service}' must start with a letter or digit and hold only letters, digits, '.', '_' and '-': it names queues and durable consumers.`,
    );
  }
  const transport = options.transport ?? env['CLOUDBUS_TRANSPORT'] ?? 'memory';
  if (typeof transport === 'string' ? transport === '' : !isTransport(transport)) {
    throw new ConfigurationError(`cloudbus: 'transport' must be a transport name ('memory', 'rabbitmq', 'nats', 'mqtt') or a Transport instance.`);
  }
  const url = options.url ?? (env['CLOUDBUS_URL'] || undefined);
  // A comma-separated list is a cluster's seed servers (NATS): every entry must be a URL.
  if (url !== undefined && !url.split(',').every((entry) => URL.canParse(entry.trim()))) {
    throw new ConfigurationError(`cloudbus: url is not a valid URL (check CLOUDBUS_URL); expected e.g. amqp://host:5672, nats://host:4222 or mqtt://host:1883.`);
  }
  const contentMode = options.contentMode;
  if (contentMode !== undefined && contentMode !== 'binary' && contentMode !== 'structured') {
    throw new ConfigurationError(`cloudbus: contentMode must be 'binary' or 'structured', got '${String(contentMode)}'.`);
  }
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  if (!(drainTimeoutMs >= 0)) throw new ConfigurationError(`cloudbus: drainTimeoutMs must be >= 0, got ${String(drainTimeoutMs)}.`);
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  if (!(startTimeoutMs >= 0) || !Number.isFinite(startTimeoutMs)) {
    throw new ConfigurationError(`cloudbus: startTimeoutMs must be a finite number >= 0, got ${String(startTimeoutMs)}.`);
  }
  const logger = asLogger(options.logger, consoleLogger);
  if (logger === undefined) {
    throw new ConfigurationError(`cloudbus: 'logger' must have debug, info, warn and error methods (console, winston, pino and bunyan loggers work as they are).`);
  }
  for (const handler of options.handlers ?? []) {
    if (typeof handler !== 'function') {
      throw new ConfigurationError(`cloudbus: 'handlers' takes handler classes, got ${typeof handler}.`);
    }
  }
  for (const middleware of options.middleware ?? []) assertMiddleware(middleware, "cloudbus({ middleware })");
  const source = options.source ?? `/${service}`;
  try {
    assertSource(source);
  } catch (error) {
    throw new ConfigurationError(`cloudbus: ${(error as Error).message}`, { cause: error });
  }
  return {
    service,
    transport,
    url,
    transportOptions: options.transportOptions ?? {},
    handlers: options.handlers ?? [],
    source,
    contentMode,
    retry: options.retry ?? retry.exponential({ attempts: 5, initialDelayMs: 200, maxDelayMs: 30_000 }),
    concurrency: positiveInteger(options.concurrency, 'concurrency', 16),
    maxMessageBytes: options.maxMessageBytes === undefined ? undefined : positiveInteger(options.maxMessageBytes, 'maxMessageBytes', 0),
    receiveLimits: receiveLimitsOf(options.receiveLimits ?? {}),
    drainTimeoutMs,
    startTimeoutMs,
    middleware: options.middleware ?? [],
    publishTelemetry: telemetryPublishing(options.publishTelemetry, env['CLOUDBUS_TELEMETRY']),
    logger,
    scheduler: options.scheduler,
    scheduleCancellations: options.scheduleCancellations ?? new MemoryScheduleCancellations(),
    sagaStore: options.sagaStore ?? new MemorySagaStore(options.clock),
    clock: options.clock ?? systemClock,
  };
}
