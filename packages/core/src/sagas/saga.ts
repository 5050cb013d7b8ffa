import { InvalidHandlerError } from '../errors.js';
import type { Event, EventClass } from '../events/event-type.js';
import type { EventContext, PublishOptions } from '../handlers/event-context.js';
import { declareHandler, requireEventClass, type HandlerClass, type HandlerOptions } from '../handlers/event-handler.js';
import type { RetryPolicy } from '../policies/retry.js';
import type { ScheduleTime } from '../scheduling/scheduled-message.js';

/** What an event for a saga instance that does not exist does (see `HandlerOptions.onMissing`). */
export type OnMissing = 'discard' | 'retry' | 'dead-letter';

/** Options of {@link Saga}. */
export interface SagaOptions<S> {
  /**
   * The one correlation key of the saga, read from each event it handles (timeouts carry it
   * themselves): with the saga's name, the primary key of its state. A starter creates the
   * instance of its key when there is none.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly key: (event: any) => string;
  /**
   * The version of the state's shape. Raise it when the shape changes, with an `upcast` from the
   * previous versions.
   * @default 1
   */
  readonly version?: number;
  /** Turns a stored state of an older version (the key) into the current shape. */
  readonly upcast?: Readonly<Record<number, (state: unknown) => unknown>>;
  /**
   * How long a completed instance is kept as a tombstone (late events are then dropped as late,
   * not as missing) before `bus.purgeCompletedSagas()` may remove it, in ms.
   * @default 604_800_000 (7 days)
   */
  readonly keepCompletedMs?: number;
  /**
   * What an event for an instance that does not exist does, unless its method sets its own.
   * @default 'discard'
   */
  readonly onMissing?: OnMissing;
  /** Retry policy of every method of the saga. @default the bus's `retry` */
  readonly retry?: RetryPolicy;
  /** Events each method of the saga works on at once in this process. @default the bus's `concurrency` */
  readonly concurrency?: number;
  /** Checks a state read from the store (after `upcast`); throw to refuse it. */
  readonly validate?: (state: unknown) => asserts state is S;
}

/** What `@Saga` recorded. */
export interface SagaMetadata {
  readonly name: string;
  readonly sagaClass: HandlerClass;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly key: (event: any) => string;
  readonly version: number;
  readonly upcast: Readonly<Record<number, (state: unknown) => unknown>>;
  readonly keepCompletedMs: number;
  readonly onMissing: OnMissing;
  readonly retry: RetryPolicy | undefined;
  readonly concurrency: number | undefined;
  readonly validate: ((state: unknown) => void) | undefined;
}

/**
 * What a saga method receives next to its event: the instance's state to read and change, and
 * the means to request timeouts, publish and complete. Everything it does is saved at once when
 * the method returns: the state (with optimistic concurrency), then the events it published and
 * the timeouts it requested are sent. A method that throws changes nothing.
 */
export interface SagaContext<S> extends EventContext {
  /** The instance's state: a copy to change in place (or replace). Saved when the method returns. */
  state: S;
  /** The instance was created by this event (a starter, first time). */
  readonly isNew: boolean;
  /** The instance's correlation key. */
  readonly key: string;
  /** The instance's unique id. */
  readonly sagaId: string;
  /** The bus clock's time (virtual in tests). */
  now(): Date;
  /**
   * Ends the saga once the method returns: its state is kept as a completed tombstone, its
   * pending timeouts are dropped when they fire, and later events for it are ignored.
   */
  complete(): void;
  /**
   * Schedules `timeout` (an instance of an `@EventType` class that an `@OnTimeout` method of this
   * saga handles) back to this instance. One outstanding timeout per class: requesting it again
   * replaces the earlier one, which is then dropped as stale when it fires. Returns its token.
   */
  requestTimeout(timeout: Event, when: ScheduleTime): string;
  /** Cancels the outstanding timeout of that class: it is dropped when it fires. */
  cancelTimeout(timeoutClass: EventClass): void;
  /** When the outstanding timeout of that class is due, or undefined. */
  timeoutDue(timeoutClass: EventClass): Date | undefined;
  /**
   * Publishes events once the state is saved (buffered until the method returns: the promise
   * resolves at once). Nothing leaves when the method throws or the save conflicts.
   */
  publish(events: Event | readonly Event[], options?: PublishOptions): Promise<void>;
}

const SAGA = Symbol.for('cloudbus.saga');

/** The `@Saga` metadata of a class, or undefined. */
export function sagaOf(sagaClass: HandlerClass): SagaMetadata | undefined {
  return Object.hasOwn(sagaClass, SAGA) ? (sagaClass as unknown as Record<symbol, SagaMetadata>)[SAGA] : undefined;
}

const STORED_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

/**
 * Declares a saga (a process manager): a class whose state is stored between the events it
 * handles, found by one correlation key. Its methods are `@StartedBy` (create the instance when
 * missing, else handle it), `@On` (handle an existing instance) and `@OnTimeout` (a timeout it
 * requested came due). `name` is the stored name: choose it once and keep it (renaming the class
 * changes nothing stored).
 *
 * Each method has its own subscription, `<service>.<Class>.<method>`, as `@On` handlers do;
 * events of one instance are handled one at a time in a process, and optimistic concurrency
 * keeps instances consistent across processes.
 *
 * @example
 * ```ts
 * @Saga<PaymentWatchState>('PaymentWatch', { key: (e: { orderId: string }) => e.orderId })
 * class PaymentWatch {
 *   @StartedBy(OrderPlaced, { init: (e) => ({ orderId: e.orderId, paid: false }) })
 *   placed(_e: OrderPlaced, ctx: SagaContext<PaymentWatchState>) {
 *     if (ctx.isNew) ctx.requestTimeout(new PaymentDue(), { delayMs: 15 * 60_000 });
 *   }
 *   @On(PaymentProcessed) paid(_e: PaymentProcessed, ctx: SagaContext<PaymentWatchState>) { ctx.complete(); }
 *   @OnTimeout(PaymentDue) async due(_t: PaymentDue, ctx: SagaContext<PaymentWatchState>) {
 *     await ctx.publish(new PaymentOverdue(ctx.state.orderId));
 *     ctx.complete();
 *   }
 * }
 * ```
 */
export function Saga<S = unknown>(name: string, options: SagaOptions<S>) {
  if (typeof name !== 'string' || !STORED_NAME.test(name)) {
    throw new InvalidHandlerError(`@Saga('${String(name)}'): the stored name must start with a letter or digit and hold only letters, digits, '.', '_' and '-'.`);
  }
  if (typeof options?.key !== 'function') throw new InvalidHandlerError(`@Saga('${name}') needs { key: (event) => string }, the correlation key.`);
  const version = options.version ?? 1;
  if (!Number.isSafeInteger(version) || version < 1) throw new InvalidHandlerError(`@Saga('${name}'): version must be a positive integer.`);
  const keepCompletedMs = options.keepCompletedMs ?? 7 * 24 * 3_600_000;
  if (!(keepCompletedMs >= 0)) throw new InvalidHandlerError(`@Saga('${name}'): keepCompletedMs must be >= 0.`);
  return (sagaClass: HandlerClass): void => {
    const metadata: SagaMetadata = {
      name,
      sagaClass,
      key: options.key,
      version,
      upcast: options.upcast ?? {},
      keepCompletedMs,
      onMissing: options.onMissing ?? 'discard',
      retry: options.retry,
      concurrency: options.concurrency,
      validate: options.validate,
    };
    Object.defineProperty(sagaClass, SAGA, { value: metadata, enumerable: false });
  };
}

/** Options of {@link StartedBy}. */
export interface StartedByOptions<T, S> extends Pick<HandlerOptions, 'name'> {
  /** The state of a new instance, from the event that starts it. */
  readonly init: (event: T) => S;
}

/**
 * Declares a saga method that starts the saga: when no instance has the event's key, one is
 * created with `init(event)` (`ctx.isNew` is true), otherwise the method handles the existing
 * one. Events of a completed instance are ignored.
 */
export function StartedBy<T extends object, S>(eventClass: EventClass<T>, options: StartedByOptions<T, S>) {
  requireEventClass(eventClass, '@StartedBy');
  if (typeof options?.init !== 'function') throw new InvalidHandlerError(`@StartedBy(${eventClass.name}) needs { init: (event) => state }.`);
  return <M extends (event: T, ctx: SagaContext<S>) => unknown>(prototype: object, method: string | symbol, descriptor: TypedPropertyDescriptor<M>): void => {
    if (typeof descriptor.value !== 'function') throw new InvalidHandlerError(`@StartedBy(${eventClass.name}) must decorate a method.`);
    declareHandler(prototype.constructor as HandlerClass, {
      handlerClass: prototype.constructor as HandlerClass,
      eventClass,
      method,
      options: options.name === undefined ? {} : { name: options.name },
      saga: { kind: 'start', init: options.init as (event: never) => unknown },
    });
  };
}

/**
 * Declares the saga method run when a timeout it requested (`ctx.requestTimeout`) comes due. It
 * runs only for the instance's current token: a timeout requested again, cancelled, or of a
 * completed instance is dropped (telemetry `saga`, action `timeout-dropped`).
 */
export function OnTimeout<T extends object>(timeoutClass: EventClass<T>, options: Pick<HandlerOptions, 'name'> = {}) {
  requireEventClass(timeoutClass, '@OnTimeout');
  return <M extends (timeout: T, ctx: never) => unknown>(prototype: object, method: string | symbol, descriptor: TypedPropertyDescriptor<M>): void => {
    if (typeof descriptor.value !== 'function') throw new InvalidHandlerError(`@OnTimeout(${timeoutClass.name}) must decorate a method.`);
    declareHandler(prototype.constructor as HandlerClass, {
      handlerClass: prototype.constructor as HandlerClass,
      eventClass: timeoutClass,
      method,
      options,
      saga: { kind: 'timeout' },
    });
  };
}
