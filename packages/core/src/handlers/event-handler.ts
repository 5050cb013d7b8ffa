import { InvalidHandlerError } from '../errors.js';
import type { EventClass } from '../events/event-type.js';
import type { ErrorClassification } from '../policies/error-classification.js';
import type { RetryPolicy } from '../policies/retry.js';

/** Options of {@link EventHandler} and {@link On}. */
export interface HandlerOptions extends ErrorClassification {
  /**
   * Stable name of the handler. Its subscription is `<service>.<name>`, shared by every instance
   * of the service: renaming it starts a new subscription.
   * @default the class name, and `ClassName.method` for `@On`
   */
  readonly name?: string;
  /**
   * What happens after a failure.
   * @default the bus's `retry` option
   */
  readonly retry?: RetryPolicy;
  /**
   * Most events this handler works on at once in this process (prefetch).
   * @default the bus's `concurrency` option
   */
  readonly concurrency?: number;
  /**
   * On a `@Saga` class only: what an event for an instance that does not exist does. `discard`
   * acks it (reported as `saga` telemetry, action `not-found`); `retry` fails it with
   * `SagaNotFoundError`, so the retry policy tries again (it may have overtaken its starter) and
   * then dead-letters it; `dead-letter` dead-letters it at once.
   * @default the saga's `onMissing` (`discard`)
   */
  readonly onMissing?: 'discard' | 'retry' | 'dead-letter';
}

/** The part a method plays in a `@Saga` class: `@StartedBy`, `@On` (`handle`) or `@OnTimeout`. */
export type SagaMethodRole =
  | { readonly kind: 'start'; readonly init: (event: never) => unknown }
  | { readonly kind: 'timeout' };

/** What a decorator recorded: one handler method for one event class. */
export interface HandlerDeclaration {
  readonly handlerClass: HandlerClass;
  readonly eventClass: EventClass;
  readonly method: string | symbol;
  readonly options: HandlerOptions;
  /** Set by `@StartedBy` and `@OnTimeout` (saga classes); `@On` leaves it unset. */
  readonly saga?: SagaMethodRole;
}

/** A class holding handler methods. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HandlerClass<T = any> = abstract new (...args: any[]) => T;

const DECLARATIONS = Symbol.for('cloudbus.handlers');

/** Records a handler declaration on its class (what `@EventHandler`, `@On` and the saga decorators do). */
export function declareHandler(handlerClass: HandlerClass, declaration: HandlerDeclaration): void {
  let list = Object.hasOwn(handlerClass, DECLARATIONS)
    ? (handlerClass as unknown as Record<symbol, HandlerDeclaration[]>)[DECLARATIONS]
    : undefined;
  if (list === undefined) {
    list = [];
    Object.defineProperty(handlerClass, DECLARATIONS, { value: list, enumerable: false });
  }
  list.push(declaration);
}

export function requireEventClass(eventClass: unknown, where: string): asserts eventClass is EventClass {
  if (typeof eventClass !== 'function') {
    throw new InvalidHandlerError(`${where} needs the event class it handles, e.g. @EventHandler(OrderPlaced).`);
  }
}

/**
 * Declares a class whose `handle(event, ctx)` method handles one event type. The class is
 * resolved from the Inversify container for each event, so constructor injection works.
 * Only records metadata; `cloudbus({ handlers })` discovers and binds it.
 *
 * @example
 * ```ts
 * @EventHandler(OrderPlaced, { retry: retry.exponential({ attempts: 5, initialDelayMs: 100 }) })
 * class Kitchen {
 *   constructor(@inject(Oven) private readonly oven: Oven) {}
 *   async handle(event: OrderPlaced, ctx: EventContext) { await this.oven.bake(event.orderId); }
 * }
 * ```
 */
export function EventHandler<T extends object>(eventClass: EventClass<T>, options: HandlerOptions = {}) {
  requireEventClass(eventClass, '@EventHandler');
  return (handlerClass: HandlerClass<{ handle(event: T, ctx: never): unknown }>): void => {
    if (typeof (handlerClass.prototype as { handle?: unknown }).handle !== 'function') {
      throw new InvalidHandlerError(
        `@EventHandler(${eventClass.name}) on ${handlerClass.name}: the class needs a handle(event, ctx) method. Use @On(${eventClass.name}) on methods of a class that handles several events.`,
      );
    }
    declareHandler(handlerClass, { handlerClass, eventClass, method: 'handle', options });
  };
}

/**
 * Declares a method as the handler of one event type, in a class that handles several.
 * Each method gets its own subscription, retry policy and dead letters.
 *
 * The method's first parameter must accept the declared event class (checked at compile time).
 * A class with only `@On` methods has no class decorator, so TypeScript emits no constructor
 * metadata for it: add Inversify's `@injectable()` when its constructor takes dependencies.
 */
export function On<T extends object>(eventClass: EventClass<T>, options: HandlerOptions = {}) {
  requireEventClass(eventClass, '@On');
  // The descriptor's type makes TypeScript check the method's first parameter against `T`.
  // `ctx: never` lets a saga's methods take a SagaContext (an EventContext with more in it).
  return <M extends (event: T, ctx: never) => unknown>(prototype: object, method: string | symbol, descriptor: TypedPropertyDescriptor<M>): void => {
    if (typeof descriptor.value !== 'function') {
      throw new InvalidHandlerError(`@On(${eventClass.name}) must decorate a method, not '${String(method)}'.`);
    }
    declareHandler(prototype.constructor as HandlerClass, {
      handlerClass: prototype.constructor as HandlerClass,
      eventClass,
      method,
      options,
    });
  };
}

/** The handler declarations of a class, its own and its base classes'. */
export function handlersOf(handlerClass: HandlerClass): HandlerDeclaration[] {
  const found: HandlerDeclaration[] = [];
  for (let current: unknown = handlerClass; typeof current === 'function' && current !== Function.prototype; ) {
    if (Object.hasOwn(current, DECLARATIONS)) {
      for (const declaration of (current as unknown as Record<symbol, HandlerDeclaration[]>)[DECLARATIONS]!) {
        found.push({ ...declaration, handlerClass });
      }
    }
    current = Object.getPrototypeOf(current);
  }
  return found;
}

/** The handler's name: `options.name`, else the class name, with `.method` for `@On` methods. */
export function handlerNameOf(declaration: HandlerDeclaration): string {
  if (declaration.options.name !== undefined) return declaration.options.name;
  const className = declaration.handlerClass.name;
  return declaration.method === 'handle' ? className : `${className}.${String(declaration.method)}`;
}
