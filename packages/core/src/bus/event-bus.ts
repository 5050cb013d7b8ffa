import type { CloudEvent } from '../envelope/cloud-event.js';
import { InProcessMessage, oversize, shareable } from '../envelope/in-process-event.js';
import { validateCloudEvent } from '../envelope/validation.js';
import { encodeCloudEvent, type ContentMode, type WireMessage } from '../envelope/wire-codec.js';
import { BusNotStartedError, BusStateError, ConfigurationError, InvalidHandlerError, MessageTooLargeError } from '../errors.js';
import { eventTypeOf, type Event } from '../events/event-type.js';
import { currentEventContext, type EventPublisher, type PublishOptions } from '../handlers/event-context.js';
import { handlerNameOf, handlersOf, type HandlerClass } from '../handlers/event-handler.js';
import { assertMiddleware, compose, type ConsumeContext, type Middleware, type PublishContext } from '../middleware/middleware.js';
import { TelemetryPublisher } from '../telemetry/telemetry-publisher.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { transportFactory } from '../transport/registry.js';
import type { OutgoingMessage, Transport } from '../transport/transport.js';
import { HandlerRunner, type HandlerBinding, type HandlerResolver } from './handler-runner.js';
import { resolveOptions, type CloudbusOptions, type ResolvedOptions } from './options.js';
import { buildBatch } from './outgoing-event.js';
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
export function buildTransport(options: ResolvedOptions): Transport {
  const { transport, url, service, transportOptions, logger } = options;
  return typeof transport === 'string' ? transportFactory(transport)({ url, service, options: transportOptions, logger }) : transport;
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
  readonly #created: Transport;
  #transport: Transport | undefined;
  #runners: HandlerRunner[] = [];
  #contentMode: ContentMode = 'binary';
  #maxMessageBytes = 0;
  /** The transport delivers in this process: messages carry their CloudEvent to the handlers, encoded only on demand. */
  #inProcess = false;
  #publishChain: ((context: PublishContext) => Promise<void>) | undefined;
  #stopping: Promise<void> | undefined;
  #telemetryPublisher: TelemetryPublisher | undefined;

  constructor(options: CloudbusOptions, resolve: HandlerResolver = instantiate) {
    this.#options = resolveOptions(options);
    this.#created = buildTransport(this.#options);
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
   */
  async start(): Promise<void> {
    if (this.#state !== 'created') {
      throw new BusStateError(
        this.#state === 'stopped' ? 'A stopped bus cannot start again: create a new one.' : `bus.start() was already called (state: ${this.#state}).`,
      );
    }
    this.#state = 'starting';
    const bindings = this.#bindHandlers();
    try {
      const transport = this.#created;
      this.#transport = transport;
      await transport.connect();
      // After connect: a transport may learn its limits from the broker (NATS max_payload).
      this.#configureWire(transport);
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
          inProcess: this.#inProcess,
          signal: this.#abort.signal,
          publish: (events, options, parent) => this.#publish(events, options, parent),
          consume: this.#consumeChain,
        });
        runner.attach(await transport.subscribe(runner.spec, runner.onDelivery));
        this.#runners.push(runner);
      }
      this.#state = 'started';
    } catch (error) {
      await this.#shutdown(0).catch(() => {});
      throw error;
    }
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
   * dead-letters or loses an event.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#state === 'stopped') return Promise.reject(new BusStateError('The bus is already stopped.'));
    if (this.#state === 'created') return Promise.reject(new BusStateError('The bus was never started.'));
    this.#stopping ??= this.#shutdown(options.drainTimeoutMs ?? this.#options.drainTimeoutMs);
    return this.#stopping;
  }

  async #shutdown(drainTimeoutMs: number): Promise<void> {
    this.#state = 'stopping';
    try {
      const handedBack = await Promise.all(this.#runners.map((runner) => runner.drain(drainTimeoutMs)));
      const total = handedBack.reduce((sum, count) => sum + count, 0);
      if (total > 0) {
        this.#abort.abort(new BusStateError('The bus is stopping: this event goes back to the broker.'));
        this.#options.logger.warn(`stop: ${total} event(s) still in handlers after ${drainTimeoutMs} ms were handed back to the broker for redelivery`);
      }
      await Promise.all(this.#runners.map((runner) => runner.close()));
      await this.#telemetryPublisher?.stop();
      await this.#transport?.close();
    } finally {
      this.#runners = [];
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
    const accepted = this.#transport!.publish(outgoing);
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
    for (const handlerClass of this.#options.handlers) {
      const declarations = handlersOf(handlerClass);
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
        const concurrency = options.concurrency ?? this.#options.concurrency;
        if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
          throw new InvalidHandlerError(`${name}: concurrency must be a positive integer, got ${String(concurrency)}.`);
        }
        bindings.push({
          subscription,
          handlerClass,
          method: declaration.method,
          eventType,
          retry: options.retry ?? this.#options.retry,
          concurrency,
          retryOn: options.retryOn,
          deadLetterOn: options.deadLetterOn,
        });
      }
    }
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
