import type { CloudEvent } from '../envelope/cloud-event.js';
import { InProcessMessage, oversize, shareable } from '../envelope/in-process-event.js';
import { validateCloudEvent } from '../envelope/validation.js';
import { encodeCloudEvent, type ContentMode, type WireMessage } from '../envelope/wire-codec.js';
import { errorRecordOf } from '../dead-letter/dead-letter-record.js';
import { DeadLetters } from '../dead-letter/dead-letters.js';
import { BrokerConnectionError, BusNotStartedError, BusStateError, ConfigurationError, InvalidHandlerError, MessageTooLargeError } from '../errors.js';
import { eventTypeOf, type Event } from '../events/event-type.js';
import { currentEventContext, type EventPublisher, type PublishOptions } from '../handlers/event-context.js';
import { handlerNameOf, handlersOf, type HandlerClass } from '../handlers/event-handler.js';
import { assertMiddleware, compose, type ConsumeContext, type Middleware, type PublishContext } from '../middleware/middleware.js';
import { TelemetryPublisher } from '../telemetry/telemetry-publisher.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { redactCredentials } from '../dead-letter/redact-credentials.js';
import { Backoff } from '../policies/backoff.js';
import { transportFactory } from '../transport/registry.js';
import { reportsConnectionState, type ConnectionState, type OutgoingMessage, type Transport } from '../transport/transport.js';
import { HandlerRunner, type HandlerBinding, type HandlerResolver } from './handler-runner.js';
import { PublishCoalescer } from './publish-coalescer.js';
import { resolveOptions, type CloudbusOptions, type ResolvedOptions } from './options.js';
import { buildBatch } from './outgoing-event.js';
import { Subscriptions } from './subscriptions.js';
import { SagaInvoker } from '../sagas/saga-invoker.js';
import { sagaOf } from '../sagas/saga.js';
import type { SagaRecord, SagaStore } from '../sagas/saga-store.js';
import type { Clock } from '../scheduling/clock.js';
import { buildCarrier, dueTimeOf, type ScheduleTime } from '../scheduling/scheduled-message.js';
import { SchedulerRunner } from '../scheduling/scheduler-runner.js';
// Registers the built-in 'memory' transport.
import '../transport/memory/memory-transport.js';

/** Where a bus is in its life. */
export type BusState = 'created' | 'starting' | 'started' | 'stopping' | 'stopped';

/** Options of {@link EventBus.stop}. */
export interface StopOptions {
  /**
   * How long to wait for handlers in flight before handing their events back to the broker.
   * @default the bus's `drainTimeoutMs` (30 s)
   */
  readonly drainTimeoutMs?: number;
}

/** What {@link EventBus.health} reports. */
export interface BusHealth {
  readonly service: string;
  readonly state: BusState;
  /** Started, and the transport is connected: ready to publish and receive. */
  readonly ready: boolean;
  readonly transport: {
    readonly name: string;
    /** The transport's connection, where it reports it; `unknown` before start. */
    readonly connection: ConnectionState | 'unknown';
  };
}

/** Options of {@link EventBus.stopOnSignals}. */
export interface StopOnSignalsOptions {
  /** @default ['SIGTERM', 'SIGINT'] */
  readonly signals?: readonly NodeJS.Signals[];
  /** How long handlers in flight get to finish. @default the bus's `drainTimeoutMs` (30 s) */
  readonly drainTimeoutMs?: number;
  /** Called with the exit code once stopped. @default process.exit */
  readonly exit?: (code: number) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One message for the transport; a class rather than a literal, as every per-event object on the hot path (see `Work` in handler-runner.ts). */
class Outgoing implements OutgoingMessage {
  constructor(
    readonly id: string,
    readonly type: string,
    readonly message: WireMessage,
  ) {}
}

/**
 * The transport the options name, built by its factory (which validates `url` and
 * `transportOptions` and connects later), or the instance given.
 */
export function buildTransport(options: ResolvedOptions): Transport | (() => Promise<Transport>) {
  const { transport, url, service, transportOptions, logger } = options;
  if (typeof transport !== 'string') return transport;
  const lookup = transportFactory(transport);
  const factoryOptions = { url, service, options: transportOptions, logger };
  return 'factory' in lookup ? lookup.factory(factoryOptions) : async () => (await lookup.load())(factoryOptions);
}

/**
 * Options already resolved, and the transport built from them, by `cloudbus()` for the bus its
 * container creates: options are validated once. Taken by the first bus created with them.
 */
const prepared = new WeakMap<CloudbusOptions, { readonly resolved: ResolvedOptions; readonly transport: Transport | (() => Promise<Transport>) }>();

/** Resolves and validates `options` and builds their transport, for the next bus created with them. */
export function prepareBusOptions(options: CloudbusOptions): ResolvedOptions {
  const resolved = resolveOptions(options);
  prepared.set(options, { resolved, transport: buildTransport(resolved) });
  return resolved;
}

const instantiate: HandlerResolver = (handlerClass) => new (handlerClass as new () => object)();

/**
 * The event bus: publishes events as CloudEvents over the configured transport and runs each
 * handler on its own subscription, with retries and dead letters.
 *
 * Usually obtained from an Inversify container loaded with `cloudbus(options)`; can also be
 * constructed directly, in which case handlers are instantiated with `new`.
 */
export class EventBus implements EventPublisher {
  /** What happens to each event and handler; subscribe with `bus.telemetry.on(listener)`. */
  readonly telemetry: Telemetry;
  readonly #options: ResolvedOptions;
  readonly #resolve: HandlerResolver;
  readonly #middleware: Middleware[];
  readonly #abort = new AbortController();
  #state: BusState = 'created';
  /** The transport, built at construction (so a bad name or bad transport options fail there). */
  /** The transport the next start connects: built at construction, built anew after a start that failed once connected. */
  /** The transport, or how to load it at start (a package only `import()` can load). */
  #created: Transport | (() => Promise<Transport>);
  #transport: Transport | undefined;
  /** Merges the publish calls of one turn into one transport batch (set with {@link #transport} at start). */
  #coalescer: PublishCoalescer | undefined;
  #runners: HandlerRunner[] = [];
  #contentMode: ContentMode = 'binary';
  #maxMessageBytes = 0;
  /** The transport delivers in this process: messages carry their CloudEvent to the handlers, encoded only on demand. */
  #inProcess = false;
  #publishChain: ((context: PublishContext) => Promise<void>) | undefined;
  #stopping: Promise<void> | undefined;
  /** Aborts the connection attempts of a start in progress (stop() while starting). */
  #starting: AbortController | undefined;
  /** Called once a start in progress has succeeded or failed. */
  readonly #startSettled: (() => void)[] = [];
  #telemetryPublisher: TelemetryPublisher | undefined;
  #deadLetters: DeadLetters | undefined;
  #subscriptions: Subscriptions | undefined;
  #scheduler: SchedulerRunner | undefined;
  /** Whether this bus runs its scheduler: the option, else whether a handler is a saga (set at start). */
  #schedulerEnabled = false;
  readonly #sagas = new Map<HandlerClass, SagaInvoker>();

  constructor(options: CloudbusOptions, resolve: HandlerResolver = instantiate) {
    const ready = prepared.get(options);
    prepared.delete(options);
    this.#options = ready?.resolved ?? resolveOptions(options);
    this.#created = ready?.transport ?? buildTransport(this.#options);
    this.#resolve = resolve;
    this.#middleware = [...this.#options.middleware];
    this.telemetry = new Telemetry((error) =>
      this.#options.logger.error('a telemetry listener threw', { error: String(error) }),
    );
  }

  /** The service this bus publishes and subscribes for. */
  get service(): string {
    return this.#options.service;
  }

  /** Where the bus is in its life: created, starting, started, stopping, stopped. */
  get state(): BusState {
    return this.#state;
  }

  /** The connected transport. Throws before `start()`. */
  get transport(): Transport {
    if (this.#transport === undefined) throw new BusNotStartedError('The transport exists once bus.start() has resolved.');
    return this.#transport;
  }

  /**
   * Dead-letter management, the same on every broker: list (with filters by service, handler,
   * type, reason and time), get one, replay, delete. Usable once `start()` has resolved.
   */
  get deadLetters(): DeadLetters {
    return (this.#deadLetters ??= new DeadLetters(
      () => this.transport,
      (events) => this.publishPrepared(events),
    ));
  }

  /**
   * The subscriptions on the broker, the same on every built-in transport: list them (all, or one
   * service's) as the broker has them, and remove them. Usable once `start()` has resolved.
   */
  get subscriptions(): Subscriptions {
    return (this.#subscriptions ??= new Subscriptions(() => this.transport));
  }

  /** Adds middleware (outermost first). Only before `start()`. */
  use(middleware: Middleware): this {
    assertMiddleware(middleware, 'bus.use()');
    if (this.#state !== 'created') throw new BusStateError(`bus.use(${middleware.name}) must be called before bus.start().`);
    this.#middleware.push(middleware);
    return this;
  }

  /**
   * Connects the transport and subscribes every handler. Resolves once all subscriptions are in
   * place, so events published afterwards reach them.
   *
   * A broker that refuses or does not answer is tried again with backoff (250 ms doubling up to
   * 5 s), each attempt logged, until `startTimeoutMs` (60 s by default) runs out; then `start()`
   * rejects with the last connection error. A permanent one (another protocol on the port, a
   * virtual host that does not exist) rejects at once. A failed start can be called again.
   */
  async start(): Promise<void> {
    if (this.#state !== 'created') {
      throw new BusStateError(
        this.#state === 'stopped' ? 'A stopped bus cannot start again: create a new one.' : `bus.start() was already called (state: ${this.#state}).`,
      );
    }
    this.#state = 'starting';
    this.#starting = new AbortController();
    let connected = false;
    try {
      const bindings = this.#bindHandlers();
      const created = this.#created;
      const transport = typeof created === 'function' ? await created() : created;
      this.#created = transport;
      this.#transport = transport;
      await this.#connect(transport, this.#starting.signal);
      connected = true;
      // After connect: a transport may learn its limits from the broker (NATS max_payload).
      this.#configureWire(transport);
      this.#coalescer = new PublishCoalescer(transport);
      this.#buildChains();
      if (this.#options.publishTelemetry !== undefined) {
        this.#telemetryPublisher = new TelemetryPublisher(
          this.telemetry,
          transport,
          this.#options.service,
          this.#options.source,
          this.#contentMode,
          this.#options.logger,
          this.#options.publishTelemetry,
        );
        this.#telemetryPublisher.start();
      }
      for (const binding of bindings) {
        const runner = new HandlerRunner(binding, {
          service: this.#options.service,
          resolve: this.#resolve,
          telemetry: this.telemetry,
          logger: this.#options.logger,
          maxMessageBytes: this.#maxMessageBytes,
          deadLetterLimits: { maxMessageBytes: transport.capabilities.maxMessageBytes, maxHeaderBytes: transport.capabilities.maxHeaderBytes },
          receiveLimits: this.#options.receiveLimits,
          inProcess: this.#inProcess,
          signal: this.#abort.signal,
          publish: (events, options, parent) => this.#publish(events, options, parent),
          consume: this.#consumeChain,
        });
        runner.attach(await transport.subscribe(runner.spec, runner.onDelivery));
        this.#runners.push(runner);
      }
      if (this.#schedulerEnabled) {
        const scheduler = new SchedulerRunner({
          service: this.#options.service,
          clock: this.#options.clock,
          cancellations: this.#options.scheduleCancellations,
          logger: this.#options.logger,
          inProcess: this.#inProcess,
          maxMessageBytes: this.#maxMessageBytes,
          receiveLimits: this.#options.receiveLimits,
          deadLetterLimits: { maxMessageBytes: transport.capabilities.maxMessageBytes, maxHeaderBytes: transport.capabilities.maxHeaderBytes },
          concurrency: this.#options.concurrency,
          publish: (event) => this.publishPrepared([event]),
        });
        this.#scheduler = scheduler;
        scheduler.attach(await transport.subscribe(scheduler.spec, scheduler.onDelivery));
      }
      this.#state = 'started';
      this.#logStarted(transport, bindings);
    } catch (error) {
      await this.#abandonStart(connected);
      throw error;
    } finally {
      this.#starting = undefined;
      for (const settled of this.#startSettled.splice(0)) settled();
    }
  }

  /** Connects, trying again with backoff while the broker cannot be reached, until `startTimeoutMs`. */
  async #connect(transport: Transport, signal: AbortSignal): Promise<void> {
    const { startTimeoutMs, logger } = this.#options;
    const deadline = Date.now() + startTimeoutMs;
    const url = this.#options.url === undefined ? undefined : redactCredentials(this.#options.url);
    const backoff = new Backoff(250, 5_000);
    for (let attempt = 1; ; attempt++) {
      try {
        await transport.connect();
        if (attempt > 1) logger.info(`connected to ${transport.name} after ${attempt} attempts`, { service: this.#options.service, url });
        return;
      } catch (error) {
        const wait = Math.min(backoff.next(), deadline - Date.now());
        if (!(error instanceof BrokerConnectionError) || error.permanent || wait <= 0 || signal.aborted) throw error;
        logger.warn(`cannot reach the ${transport.name} broker (attempt ${attempt}); trying again in ${wait} ms`, {
          service: this.#options.service,
          url,
          error: error.message,
          givesUpInMs: deadline - Date.now(),
        });
        await sleep(wait, signal);
        if (signal.aborted) throw new BusStateError('bus.stop() was called while the bus was starting.', { cause: error });
      }
    }
  }

  /**
   * Undoes a start that failed: ends what was subscribed and the transport. The bus can start
   * again, with a new transport when it makes its own; one given as an instance, closed once it had
   * connected, cannot be reused, and the bus then stops for good.
   */
  async #abandonStart(connected: boolean): Promise<void> {
    const runners = this.#runners;
    this.#runners = [];
    await Promise.all(runners.map((runner) => runner.close().catch(() => {})));
    await this.#scheduler?.close().catch(() => {});
    this.#scheduler = undefined;
    await this.#telemetryPublisher?.stop().catch(() => {});
    this.#telemetryPublisher = undefined;
    const transport = this.#transport;
    const madeHere = typeof this.#options.transport === 'string';
    if (connected || madeHere) {
      await transport?.close().catch(() => {});
      if (madeHere) {
        this.#created = buildTransport(this.#options);
        this.#transport = undefined;
      }
    }
    this.#state = connected && !madeHere ? 'stopped' : 'created';
  }

  #logStarted(transport: Transport, bindings: readonly HandlerBinding[]): void {
    const { logger, service, url } = this.#options;
    logger.info(`bus started on ${transport.name}`, {
      service,
      transport: transport.name,
      ...(url === undefined ? {} : { url: redactCredentials(url) }),
      contentMode: this.#contentMode,
      subscriptions: bindings.length,
    });
    for (const binding of bindings) {
      logger.info(`subscribed ${binding.subscription}`, {
        subscription: binding.subscription,
        types: [binding.eventType.type],
        concurrency: binding.concurrency,
        retry: binding.retry.description,
      });
    }
  }

  /**
   * The bus's state and its transport's connection, for readiness checks: `ready` is true once
   * started while the transport is connected (transports that do not report a connection state
   * count as connected once started).
   */
  health(): BusHealth {
    const transport = this.#transport;
    let connection: ConnectionState | 'unknown' = 'unknown';
    if (transport !== undefined && reportsConnectionState(transport)) connection = transport.connectionState;
    else if (this.#state === 'started') connection = 'connected';
    else if (this.#state === 'stopped') connection = 'closed';
    return {
      service: this.#options.service,
      state: this.#state,
      ready: this.#state === 'started' && connection === 'connected',
      transport: { name: transport?.name ?? (typeof this.#options.transport === 'string' ? this.#options.transport : this.#options.transport.name), connection },
    };
  }

  /**
   * Publishes one event or a batch. Resolves once the transport has durably accepted every event;
   * rejects (and publishes none, where the broker allows) when an event is not an `@EventType`
   * instance, is too large, or the broker refused it. Inside a handler, the events carry its
   * correlation id and its event's id as causation id.
   */
  publish(events: Event | readonly Event[], options?: PublishOptions): Promise<void> {
    return this.#publish(events, options, currentEventContext()?.cloudEvent);
  }

  /**
   * Builds the CloudEvents for events without sending them, with the same ids, correlation and
   * causation `publish` would give them now. Store them with your data (a transactional outbox)
   * and send them later with {@link publishPrepared}: their ids stay the same on every attempt,
   * so brokers that de-duplicate and idempotent handlers see one event.
   */
  prepare(events: Event | readonly Event[], options?: PublishOptions): CloudEvent[] {
    return buildBatch(events, this.#options.source, options, currentEventContext()?.cloudEvent).map(
      ({ cloudEvent }) => cloudEvent as CloudEvent,
    );
  }

  /** The clock schedules and sagas read (the option `clock`, else the system clock). */
  get clock(): Clock {
    return this.#options.clock;
  }

  /** Where sagas keep their state (the option `sagaStore`). */
  get sagaStore(): SagaStore {
    return this.#options.sagaStore;
  }

  /**
   * Publishes `event` when it is due, `{ at }` a time or `{ delayMs }` from now (the bus clock's
   * now), and resolves with the schedule's id once the broker holds it. The delay is held by the
   * broker: the event waits in this service's scheduler subscription (`<service>.cloudbus-scheduler`),
   * handed back to the broker with a delay (as retries are) until it is due, so a schedule
   * survives a restart of the app. It is never published early; it may be late by the broker's
   * rounding of delays (well under a second on RabbitMQ) or while no instance of the service runs.
   *
   * Needs the scheduler (option `scheduler`, on by default when a handler is a saga). Inside a
   * handler, the event is a child of the handled event, as with `publish`.
   */
  async schedule(event: Event, when: ScheduleTime, options?: PublishOptions): Promise<string> {
    if (this.#state !== 'started' && this.#state !== 'stopping') throw new BusNotStartedError('Cannot schedule before bus.start() has resolved, or after stop().');
    if (!this.#schedulerEnabled) {
      throw new ConfigurationError(`bus.schedule(): this bus runs no scheduler; create it with { scheduler: true } (on by default with sagas).`);
    }
    const dueAt = dueTimeOf(when, this.#options.clock.now());
    const [entry] = buildBatch(event, this.#options.source, options, currentEventContext()?.cloudEvent);
    const carrier = buildCarrier(entry!.cloudEvent as CloudEvent, dueAt, this.#options.service, this.#options.source);
    await this.publishPrepared([carrier]);
    return carrier.id;
  }

  /**
   * Cancels a schedule: it will not be published. Brokers cannot take back a message they hold,
   * so the schedule is marked cancelled in `scheduleCancellations` and dropped when it comes due;
   * that mark is exact across instances and restarts only with a shared durable implementation.
   * Cancelling a schedule that fired already, or an unknown id, does nothing.
   */
  async cancelScheduled(scheduleId: string): Promise<void> {
    if (typeof scheduleId !== 'string' || scheduleId === '') throw new ConfigurationError('bus.cancelScheduled() takes the id bus.schedule() resolved with.');
    await this.#options.scheduleCancellations.cancel(scheduleId);
  }

  /** The stored instance of a saga class (or its stored name), or undefined. */
  async sagaInstance(saga: HandlerClass | string, key: string): Promise<SagaRecord | undefined> {
    const name = typeof saga === 'string' ? saga : sagaOf(saga)?.name;
    if (name === undefined) throw new ConfigurationError(`sagaInstance(): ${(saga as HandlerClass).name} is not a @Saga class.`);
    return this.#options.sagaStore.get(name, key);
  }

  /** Removes completed saga instances kept longer than their saga's `keepCompletedMs`; resolves with how many. */
  async purgeCompletedSagas(): Promise<number> {
    let purged = 0;
    const now = this.#options.clock.now();
    for (const invoker of this.#sagas.values()) {
      purged += await this.#options.sagaStore.purgeCompleted(invoker.saga.name, new Date(now - invoker.saga.keepCompletedMs));
    }
    return purged;
  }

  #sagaEnvironment() {
    return {
      service: this.#options.service,
      source: this.#options.source,
      store: this.#options.sagaStore,
      clock: this.#options.clock,
      logger: this.#options.logger,
      telemetry: this.telemetry,
      prepare: (events: object | readonly object[], options: PublishOptions | undefined, parent: CloudEvent) =>
        buildBatch(events, this.#options.source, options, parent).map((entry) => entry.cloudEvent),
      publishPrepared: (events: readonly CloudEvent[]) => this.publishPrepared(events),
    };
  }

  /**
   * Publishes CloudEvents built earlier by {@link prepare} (or read back from storage), as one
   * batch, through the publish middleware. Resolves once the transport durably accepted them.
   */
  publishPrepared(cloudEvents: readonly CloudEvent[]): Promise<void> {
    if (this.#state !== 'started' && this.#state !== 'stopping') {
      return Promise.reject(new BusNotStartedError('Cannot publish before bus.start() has resolved, or after stop().'));
    }
    if (cloudEvents.length === 0) return Promise.resolve();
    try {
      for (const cloudEvent of cloudEvents) validateCloudEvent(cloudEvent as unknown as Record<string, unknown>);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#publishChain!({
      events: cloudEvents.map((cloudEvent) => ({ event: undefined, cloudEvent: { ...cloudEvent } })),
      parent: undefined,
    });
  }

  /**
   * Stops the bus: stops receiving, lets handlers in flight finish (up to `drainTimeoutMs`), hands
   * whatever did not finish back to the broker unacked, then closes the transport. Shutdown never
   * dead-letters or loses an event. Idempotent: every call resolves when the bus has stopped; a
   * bus never started just stops; one starting gives up its start first.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    if (this.#state === 'stopped') return Promise.resolve();
    if (this.#state === 'created') {
      this.#state = 'stopped';
      return Promise.resolve();
    }
    this.#stopping = this.#stopWhenStarted(options.drainTimeoutMs ?? this.#options.drainTimeoutMs);
    return this.#stopping;
  }

  async #stopWhenStarted(drainTimeoutMs: number): Promise<void> {
    if (this.#state === 'starting') {
      this.#starting?.abort();
      await new Promise<void>((resolve) => this.#startSettled.push(resolve));
      if ((this.#state as BusState) !== 'started') {
        // The start failed or gave up: nothing is left to drain.
        this.#state = 'stopped';
        return;
      }
    }
    await this.#shutdown(drainTimeoutMs);
  }

  /**
   * Stops the bus on SIGTERM or SIGINT, then exits the process: in-flight handlers get
   * `drainTimeoutMs` (the bus's, 30 s by default) to finish, the rest goes back to the broker. The
   * exit code is 0 after a clean stop, 1 when stopping failed. A second signal while draining
   * exits at once with code 130. Returns a function that removes the signal handlers.
   */
  stopOnSignals(options: StopOnSignalsOptions = {}): () => void {
    const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    const exit = options.exit ?? ((code: number) => process.exit(code));
    let received = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) {
        this.#options.logger.warn(`${signal} again while draining: exiting now`, { service: this.#options.service });
        exit(130);
        return;
      }
      received = true;
      this.#options.logger.info(`${signal} received: draining and stopping`, {
        service: this.#options.service,
        drainTimeoutMs: options.drainTimeoutMs ?? this.#options.drainTimeoutMs,
      });
      this.stop(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }).then(
        () => {
          this.#options.logger.info('bus stopped', { service: this.#options.service });
          exit(0);
        },
        (error: unknown) => {
          this.#options.logger.error('stopping the bus failed', { service: this.#options.service, error: errorRecordOf(error).message });
          exit(1);
        },
      );
    };
    for (const signal of signals) process.on(signal, onSignal);
    return () => {
      for (const signal of signals) process.off(signal, onSignal);
    };
  }

  async #shutdown(drainTimeoutMs: number): Promise<void> {
    this.#state = 'stopping';
    try {
      const [handedBack] = await Promise.all([
        Promise.all(this.#runners.map((runner) => runner.drain(drainTimeoutMs))),
        this.#scheduler?.drain(drainTimeoutMs),
      ]);
      const total = handedBack.reduce((sum, count) => sum + count, 0);
      if (total > 0) {
        this.#abort.abort(new BusStateError('The bus is stopping: this event goes back to the broker.'));
        this.#options.logger.warn(`stop: ${total} event(s) still in handlers after ${drainTimeoutMs} ms were handed back to the broker for redelivery`);
      }
      await Promise.all(this.#runners.map((runner) => runner.close()));
      await this.#scheduler?.close();
      await this.#telemetryPublisher?.stop();
      await this.#transport?.close();
    } finally {
      this.#runners = [];
      this.#scheduler = undefined;
      this.#state = 'stopped';
    }
  }

  #publish(events: object | readonly object[], options: PublishOptions | undefined, parent: CloudEvent | undefined): Promise<void> {
    if (this.#state !== 'started' && this.#state !== 'stopping') {
      return Promise.reject(
        new BusNotStartedError(this.#state === 'stopped' ? 'Cannot publish: the bus is stopped.' : 'Cannot publish before bus.start() has resolved.'),
      );
    }
    let context: PublishContext;
    try {
      context = { events: buildBatch(events, this.#options.source, options, parent), parent };
    } catch (error) {
      return Promise.reject(error);
    }
    if (context.events.length === 0) return Promise.resolve();
    return this.#publishChain!(context);
  }

  readonly #send = (context: PublishContext): Promise<void> => {
    const outgoing: OutgoingMessage[] = [];
    try {
      for (const { cloudEvent } of context.events) {
        const message =
          this.#inProcess && shareable(cloudEvent as CloudEvent)
            ? new InProcessMessage(cloudEvent as CloudEvent, this.#contentMode)
            : encodeCloudEvent(cloudEvent as CloudEvent, this.#contentMode);
        const size = oversize(message, this.#maxMessageBytes);
        if (size !== undefined) return Promise.reject(new MessageTooLargeError(cloudEvent.id, size, this.#maxMessageBytes));
        outgoing.push(new Outgoing(cloudEvent.id, cloudEvent.type, message));
      }
    } catch (error) {
      // Data JSON cannot encode (a cycle, a BigInt): publish rejects, it never throws.
      return Promise.reject(error);
    }
    // Calls of the same turn leave as one transport batch; each settles on its own events.
    const accepted = this.#coalescer!.publish(outgoing);
    if (!this.telemetry.active) return accepted;
    return accepted.then(() => {
      for (const { cloudEvent } of context.events) {
        this.telemetry.emit({
          kind: 'published',
          time: Date.now(),
          service: this.#options.service,
          eventId: cloudEvent.id,
          eventType: cloudEvent.type,
          source: cloudEvent.source,
          ...(cloudEvent.subject === undefined ? {} : { subject: cloudEvent.subject }),
          ...(cloudEvent.correlationid === undefined ? {} : { correlationId: cloudEvent.correlationid }),
          ...(cloudEvent.causationid === undefined ? {} : { causationId: cloudEvent.causationid }),
        });
      }
    });
  };

  #consumeChain: ((context: ConsumeContext, call: (context: ConsumeContext) => Promise<void>) => Promise<void>) | undefined;

  #buildChains(): void {
    const publishSteps = this.#middleware.filter((m) => m.publish !== undefined).map((m) => m.publish!.bind(m));
    this.#publishChain = compose(publishSteps, this.#send);
    const consumeSteps = this.#middleware.filter((m) => m.consume !== undefined).map((m) => m.consume!.bind(m));
    if (consumeSteps.length > 0) {
      // Built once; the handler call differs per runner, so it is passed in as the innermost step.
      const chain = compose<{ context: ConsumeContext; call: (context: ConsumeContext) => Promise<void> }>(
        consumeSteps.map((step) => (outer, next) => step(outer.context, next)),
        (outer) => outer.call(outer.context),
      );
      this.#consumeChain = (context, call) => chain({ context, call });
    }
  }

  #bindHandlers(): HandlerBinding[] {
    const bindings: HandlerBinding[] = [];
    const seen = new Map<string, HandlerClass>();
    this.#sagas.clear();
    for (const handlerClass of this.#options.handlers) {
      const declarations = handlersOf(handlerClass);
      const saga = sagaOf(handlerClass);
      const sagaInvoker = saga === undefined ? undefined : new SagaInvoker(saga, this.#sagaEnvironment());
      if (sagaInvoker !== undefined) this.#sagas.set(handlerClass, sagaInvoker);
      if (saga === undefined && declarations.some((declaration) => declaration.saga !== undefined)) {
        throw new InvalidHandlerError(`${handlerClass.name} has @StartedBy or @OnTimeout methods: decorate the class with @Saga(name, { key }).`);
      }
      if (declarations.length === 0) {
        throw new InvalidHandlerError(`${handlerClass.name} is listed in 'handlers' but has no @EventHandler or @On declaration.`);
      }
      for (const declaration of declarations) {
        const eventType = eventTypeOf(declaration.eventClass);
        if (eventType === undefined) {
          throw new InvalidHandlerError(
            `${handlerClass.name} handles ${declaration.eventClass.name}, which is not an event class: decorate it with @EventType('com.example.something', { version: 1 }).`,
          );
        }
        const name = handlerNameOf(declaration);
        const subscription = `${this.#options.service}.${name}`;
        const clash = seen.get(subscription);
        if (clash !== undefined) {
          throw new InvalidHandlerError(
            `Two handlers are named '${name}' (${clash.name} and ${handlerClass.name}): give one a distinct { name } so each keeps its own subscription.`,
          );
        }
        seen.set(subscription, handlerClass);
        const options = declaration.options;
        const concurrency = options.concurrency ?? saga?.concurrency ?? this.#options.concurrency;
        if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
          throw new InvalidHandlerError(`${name}: concurrency must be a positive integer, got ${String(concurrency)}.`);
        }
        bindings.push({
          subscription,
          handlerClass,
          method: declaration.method,
          eventType,
          retry: options.retry ?? saga?.retry ?? this.#options.retry,
          concurrency,
          retryOn: options.retryOn,
          deadLetterOn: options.deadLetterOn,
          invoke: sagaInvoker?.invokerFor(declaration),
        });
      }
    }
    this.#schedulerEnabled = this.#options.scheduler ?? this.#sagas.size > 0;
    return bindings;
  }

  #configureWire(transport: Transport): void {
    const capabilities = transport.capabilities;
    const requested = this.#options.contentMode;
    if (requested === 'binary' && !capabilities.binaryMode) {
      throw new ConfigurationError(`The ${transport.name} transport, as configured, has no headers: use contentMode 'structured'.`);
    }
    this.#contentMode = requested ?? capabilities.preferredContentMode ?? (capabilities.binaryMode ? 'binary' : 'structured');
    this.#inProcess = capabilities.inProcess === true;
    this.#maxMessageBytes = Math.min(this.#options.maxMessageBytes ?? capabilities.maxMessageBytes, capabilities.maxMessageBytes);
  }
}
