import { ConfigurationError } from '../errors.js';
import type { CloudEvent } from '../envelope/cloud-event.js';
import type { EventContext } from '../handlers/event-context.js';

/** A CloudEvent being built for publishing; publish middleware may add or change attributes. */
export type OutgoingCloudEvent = { -readonly [K in keyof CloudEvent]: CloudEvent[K] };

/** What publish middleware sees: one batch. */
export interface PublishContext {
  /**
   * The batch, in order: the event objects and the CloudEvents built for them. `event` is
   * undefined for events published from a prepared CloudEvent (an outbox relay, a replay).
   */
  readonly events: readonly { readonly event: object | undefined; readonly cloudEvent: OutgoingCloudEvent }[];
  /** The event being handled when this batch was published, if any. */
  readonly parent: CloudEvent | undefined;
}

/** What consume middleware sees: one event for one handler. */
export interface ConsumeContext {
  readonly cloudEvent: CloudEvent;
  /** The decoded (and upcast) event object. */
  readonly event: object;
  /** The subscription name, `<service>.<handler>`. */
  readonly handler: string;
  readonly attempt: number;
  /** The context the handler receives. */
  readonly context: EventContext;
  /**
   * Says why middleware returns without calling `next` (e.g. `duplicate`): the event is acked and
   * telemetry reports `handler-skipped` with this reason instead of a handler call.
   */
  skip(reason: string): void;
  /**
   * What the bus will do if the handler fails with `error` on this attempt, by the handler's retry
   * policy and error classification: retry after `delayMs`, or dead-letter with `reason`.
   */
  outcomeOf(error: unknown): FailureOutcome;
}

/** What a handler failure leads to: a retry the broker holds, or a dead letter. */
export type FailureOutcome =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly reason: 'retries-exhausted' | 'non-retryable' };

/** Calls the rest of the chain (and finally the transport or the handler). */
export type Next = () => Promise<void>;

/**
 * Cross-cutting behaviour around publishing and handling: logging, tracing, metrics, idempotency.
 * Added with `bus.use(...)` or `cloudbus({ middleware })`; the first added is the outermost.
 *
 * Throwing from `consume` counts as a handler failure (retried, then dead-lettered); returning
 * without calling `next` skips the handler and acks the event.
 */
export interface Middleware {
  /** Shown in logs. */
  readonly name: string;
  publish?(context: PublishContext, next: Next): Promise<void>;
  consume?(context: ConsumeContext, next: Next): Promise<void>;
}

/**
 * Refuses what is not middleware (`undefined` from a factory that returned nothing, a function
 * instead of the object a factory builds), naming where it was given.
 */
export function assertMiddleware(middleware: unknown, where: string): asserts middleware is Middleware {
  const candidate = middleware as Partial<Middleware> | null | undefined;
  if (candidate === null || typeof candidate !== 'object') {
    const factory = typeof candidate === 'function' ? (candidate as { name: string }).name || 'factory' : undefined;
    const hint = factory === undefined ? '' : ` Pass what the factory returns: ${factory}(), not ${factory}.`;
    throw new ConfigurationError(
      `${where} takes a Middleware object ({ name, publish?, consume? }), got ${candidate === null ? 'null' : typeof candidate}.${hint}`,
    );
  }
  if (typeof candidate.publish !== 'function' && typeof candidate.consume !== 'function') {
    throw new ConfigurationError(`${where}: middleware '${String(candidate.name)}' has neither a publish nor a consume function.`);
  }
}

type Step<C> = (context: C, next: Next) => Promise<void>;

/** Composes steps around a final function, outermost first. Built once, not per message. */
export function compose<C>(steps: readonly Step<C>[], final: (context: C) => Promise<void>): (context: C) => Promise<void> {
  let chain = final;
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i]!;
    const inner = chain;
    chain = (context) => step(context, () => inner(context));
  }
  return chain;
}
