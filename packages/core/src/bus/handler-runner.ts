import { toDeadLetterMessage, type DeadLetterLimits } from '../dead-letter/dead-letter-message.js';
import { deadLetterRecordOf, errorRecordOf, type DeadLetterReason } from '../dead-letter/dead-letter-record.js';
import { Extensions, type CloudEvent } from '../envelope/cloud-event.js';
import { inProcessEventOf, oversize } from '../envelope/in-process-event.js';
import { decodeCloudEvent, type ReceiveLimits } from '../envelope/wire-codec.js';
import { EventSchemaError, InvalidCloudEventError, UnsupportedEventVersionError } from '../errors.js';
import { dataVersionOf, eventFromData, type EventTypeMetadata } from '../events/event-type.js';
import { runInEventContext, type EventContext, type PublishOptions } from '../handlers/event-context.js';
import type { HandlerClass } from '../handlers/event-handler.js';
import type { ConsumeContext, FailureOutcome } from '../middleware/middleware.js';
import { isRetryable, type ErrorClassification } from '../policies/error-classification.js';
import type { RetryPolicy } from '../policies/retry.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { SETTLED, type Delivery, type Subscription, type SubscriptionSpec } from '../transport/transport.js';
import type { Logger } from '../logger.js';

const NON_RETRYABLE: FailureOutcome = { retry: false, reason: 'non-retryable' };
const RETRIES_EXHAUSTED: FailureOutcome = { retry: false, reason: 'retries-exhausted' };

/** Resolves a handler instance for one event: from the container, in a fresh resolution scope. */
export type HandlerResolver = (handlerClass: HandlerClass) => object;

/** One handler method bound to one event type: what a subscription runs. */
export interface HandlerBinding extends ErrorClassification {
  /** Subscription name, `<service>.<handler>`. */
  readonly subscription: string;
  readonly handlerClass: HandlerClass;
  readonly method: string | symbol;
  readonly eventType: EventTypeMetadata;
  readonly retry: RetryPolicy;
  readonly concurrency: number;
  /** Calls the handler instead of `instance[method](event, ctx)` (saga methods load and save their state around the call). */
  readonly invoke?: ((instance: object, event: object, context: EventContext) => Promise<void>) | undefined;
}

/** What a runner needs from its bus. */
export interface RunnerEnvironment {
  readonly service: string;
  readonly resolve: HandlerResolver;
  readonly telemetry: Telemetry;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  /** The transport's own limits (`capabilities`), which dead letters must fit: a dead letter is not held to the bus's `maxMessageBytes`. */
  readonly deadLetterLimits: DeadLetterLimits;
  /** Limits on what a received message may hold. */
  readonly receiveLimits: ReceiveLimits;
  /**
   * The transport delivers in this process (`capabilities.inProcess`): a message a bus here
   * published carries its CloudEvent, taken as it is instead of decoded.
   */
  readonly inProcess: boolean;
  readonly signal: AbortSignal;
  readonly publish: (events: object | readonly object[], options: PublishOptions | undefined, parent: CloudEvent) => Promise<void>;
  /** The consume middleware chain around the handler call, or undefined when there is none. */
  readonly consume: ((context: ConsumeContext, call: (context: ConsumeContext) => Promise<void>) => Promise<void>) | undefined;
}

class HandlerContext implements EventContext {
  constructor(
    readonly cloudEvent: CloudEvent,
    readonly attempt: number,
    readonly handler: string,
    readonly signal: AbortSignal,
    private readonly publisher: RunnerEnvironment['publish'],
  ) {}

  publish(events: object | readonly object[], options?: PublishOptions): Promise<void> {
    return this.publisher(events, options, this.cloudEvent);
  }
}

/**
 * A delivery being handled. `released` once handed back to the broker at shutdown: its outcome is
 * then ignored. A class, as every per-event object here: object literals are subject to V8's
 * allocation-site pretenuring, which can move them all to the old generation under load.
 */
class Work {
  released = false;
  /** The handler itself was called (middleware may skip it). */
  called = false;
  skipReason: string | undefined = undefined;

  constructor(
    readonly delivery: Delivery,
    readonly cloudEvent: CloudEvent,
    readonly started: number,
  ) {}
}

/** The consume middleware's view of one event for one handler. */
class ConsumeState implements ConsumeContext {
  constructor(
    readonly runner: HandlerRunner,
    readonly work: Work,
    readonly event: object,
    readonly handler: string,
    readonly context: EventContext,
  ) {}

  get cloudEvent(): CloudEvent {
    return this.work.cloudEvent;
  }
  get attempt(): number {
    return this.work.delivery.attempt;
  }

  skip(reason: string): void {
    this.work.skipReason = reason;
  }

  outcomeOf(error: unknown): FailureOutcome {
    return this.runner.outcomeOf(this.work.delivery, error);
  }
}

/**
 * Runs one handler's subscription: decodes each delivery, calls the handler through the consume
 * middleware, and settles the delivery (ack, nack with the retry delay, or dead letter).
 * Invalid input is dead-lettered without reaching the handler. Never throws into the transport.
 */
export class HandlerRunner {
  readonly #inFlight = new Set<Work>();
  #subscription: Subscription | undefined;
  #drained: (() => void) | undefined;

  constructor(
    readonly binding: HandlerBinding,
    private readonly env: RunnerEnvironment,
  ) {}

  get spec(): SubscriptionSpec {
    const { subscription, eventType, concurrency, handlerClass, method, retry } = this.binding;
    return {
      name: subscription,
      types: [eventType.type],
      concurrency,
      description: { service: this.env.service, handler: `${handlerClass.name}.${String(method)}`, retry: retry.description },
    };
  }

  attach(subscription: Subscription): void {
    this.#subscription = subscription;
  }

  /**
   * Transport callback, once per delivery. Total: whatever the delivery holds, it is settled and
   * nothing is thrown back into the transport; a failure nobody foresaw is logged and the delivery
   * dead-lettered.
   */
  readonly onDelivery = (delivery: Delivery): void => {
    try {
      this.#onDelivery(delivery);
    } catch (error) {
      this.env.logger.error('cloudbus: reading a delivery failed unexpectedly; dead-lettering it', {
        handler: this.binding.subscription,
        error: errorRecordOf(error).message,
      });
      try {
        this.#deadLetter(delivery, undefined, 'invalid', error, 0);
      } catch (deadLetterError) {
        this.#settleFailed('dead-letter', undefined, deadLetterError);
      }
    }
  };

  #onDelivery(delivery: Delivery): void {
    let event: object;
    // Published by a bus in this process: no decoding, unless this bus wants its own copy
    // (isolate) or the message is over this bus's limit (then refused below, as from a broker).
    let cloudEvent = this.env.inProcess ? inProcessEventOf(delivery.message) : undefined;
    if (cloudEvent !== undefined && oversize(delivery.message, this.env.maxMessageBytes) !== undefined) cloudEvent = undefined;
    if (cloudEvent === undefined) {
      try {
        if (delivery.message.body.byteLength > this.env.maxMessageBytes) {
          throw new InvalidCloudEventError(`Message of ${delivery.message.body.byteLength} bytes is over the limit of ${this.env.maxMessageBytes} bytes; not parsed.`);
        }
        cloudEvent = decodeCloudEvent(delivery.message, this.env.receiveLimits);
      } catch (error) {
        this.#reject(delivery, undefined, 'invalid', error);
        return;
      }
    }
    const eventType = this.binding.eventType;
    if (cloudEvent.type !== eventType.type) {
      this.#reject(delivery, cloudEvent, 'unknown-type', new InvalidCloudEventError(`Subscription ${this.binding.subscription} handles '${eventType.type}', not '${cloudEvent.type}'.`, 'type'));
      return;
    }
    const replayFor = cloudEvent[Extensions.replayFor];
    if (replayFor !== undefined && replayFor !== this.binding.subscription) {
      this.#skipReplay(delivery, cloudEvent, String(replayFor));
      return;
    }
    try {
      event = eventFromData(eventType, cloudEvent.data, dataVersionOf(cloudEvent['dataversion']));
    } catch (error) {
      this.#reject(
        delivery,
        cloudEvent,
        error instanceof UnsupportedEventVersionError ? 'unsupported-version' : error instanceof EventSchemaError ? 'invalid' : 'undecodable',
        error,
      );
      return;
    }

    const work = new Work(delivery, cloudEvent, performance.now());
    this.#inFlight.add(work);
    const env = this.env;
    const handler = this.binding.subscription;
    const context = new HandlerContext(cloudEvent, delivery.attempt, handler, env.signal, env.publish);
    let result: unknown;
    try {
      result = runInEventContext(context, () =>
        env.consume === undefined
          ? this.#call(work, event, context)
          : env.consume(new ConsumeState(this, work, event, handler, context), this.#callFromChain),
      );
    } catch (error) {
      this.#failed(work, error);
      return;
    }
    if (result !== null && typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
      (result as PromiseLike<unknown>).then(
        () => this.#succeeded(work),
        (error: unknown) => this.#failed(work, error),
      );
    } else {
      this.#succeeded(work);
    }
  }

  #call(work: Work, event: object, context: EventContext): unknown {
    work.called = true;
    const telemetry = this.env.telemetry;
    if (telemetry.active) {
      telemetry.emit({ kind: 'handler-started', handler: this.binding.subscription, attempt: work.delivery.attempt, ...this.#about(work.cloudEvent) });
    }
    const instance = this.env.resolve(this.binding.handlerClass) as Record<string | symbol, (event: object, context: EventContext) => unknown>;
    const invoke = this.binding.invoke;
    return invoke === undefined ? instance[this.binding.method]!(event, context) : invoke(instance, event, context);
  }

  readonly #callFromChain = async (context: ConsumeContext): Promise<void> => {
    const state = context as ConsumeState;
    await this.#call(state.work, state.event, state.context);
  };

  #about(cloudEvent: CloudEvent) {
    return {
      time: Date.now(),
      service: this.env.service,
      eventId: cloudEvent.id,
      eventType: cloudEvent.type,
      ...(cloudEvent.correlationid === undefined ? {} : { correlationId: String(cloudEvent.correlationid) }),
      ...(cloudEvent.causationid === undefined ? {} : { causationId: String(cloudEvent.causationid) }),
    };
  }

  #finish(work: Work): boolean {
    if (work.released) return false;
    this.#inFlight.delete(work);
    if (this.#inFlight.size === 0) this.#drained?.();
    return true;
  }

  #succeeded(work: Work): void {
    if (!this.#finish(work)) return;
    const acked = work.delivery.ack();
    if (acked !== SETTLED) acked.catch((error: unknown) => this.#settleFailed('ack', work.cloudEvent, error));
    const telemetry = this.env.telemetry;
    if (!telemetry.active) return;
    if (!work.called) {
      telemetry.emit({
        kind: 'handler-skipped',
        handler: this.binding.subscription,
        attempt: work.delivery.attempt,
        reason: work.skipReason ?? 'skipped by middleware',
        ...this.#about(work.cloudEvent),
      });
      return;
    }
    telemetry.emit({
      kind: 'handler-succeeded',
      handler: this.binding.subscription,
      attempt: work.delivery.attempt,
      durationMs: performance.now() - work.started,
      ...this.#about(work.cloudEvent),
    });
  }

  /** Retry after a delay, or dead-letter: by the retry policy, the error's class and the time spent so far. */
  outcomeOf(delivery: Delivery, error: unknown): FailureOutcome {
    const policy = this.binding.retry;
    if (!isRetryable(error, this.binding)) return NON_RETRYABLE;
    if (delivery.attempt < policy.attempts) {
      const delayMs = policy.delayMs(delivery.attempt);
      if (Date.now() + delayMs - delivery.firstAttemptAt <= policy.maxElapsedMs) return { retry: true, delayMs };
    }
    return RETRIES_EXHAUSTED;
  }

  #failed(work: Work, error: unknown): void {
    if (!this.#finish(work)) return;
    const { delivery, cloudEvent } = work;
    const outcome = this.outcomeOf(delivery, error);
    const telemetry = this.env.telemetry;
    const handler = this.binding.subscription;
    if (telemetry.active) {
      telemetry.emit({
        kind: 'handler-failed',
        handler,
        attempt: delivery.attempt,
        durationMs: performance.now() - work.started,
        error: errorRecordOf(error),
        willRetry: outcome.retry,
        ...this.#about(cloudEvent),
      });
    }
    if (!outcome.retry) {
      this.#deadLetter(delivery, cloudEvent, outcome.reason, error, delivery.attempt);
      return;
    }
    const delayMs = outcome.delayMs;
    // Reported before the nack: its settling can take longer than the delay, and the retry must
    // never show up (in the log or the inspector) before the failure that scheduled it. A nack that
    // fails leaves the message with the broker, which redelivers it: a retry all the same.
    this.env.logger.debug(`retry of ${cloudEvent.type} ${cloudEvent.id} scheduled in ${delayMs} ms`, {
      handler,
      eventId: cloudEvent.id,
      attempt: delivery.attempt,
      nextAttempt: delivery.attempt + 1,
      delayMs,
      error: errorRecordOf(error).message,
    });
    if (telemetry.active) {
      telemetry.emit({ kind: 'retry-scheduled', handler, nextAttempt: delivery.attempt + 1, delayMs, ...this.#about(cloudEvent) });
    }
    const nacked = delivery.nack(delayMs);
    if (nacked !== SETTLED) nacked.catch((nackError: unknown) => this.#settleFailed('nack', cloudEvent, nackError));
  }

  /** A replayed dead letter meant for another handler of the same event type: acked, not run. */
  #skipReplay(delivery: Delivery, cloudEvent: CloudEvent, replayFor: string): void {
    delivery.ack().catch((error: unknown) => this.#settleFailed('ack', cloudEvent, error));
    const telemetry = this.env.telemetry;
    if (telemetry.active) {
      telemetry.emit({
        kind: 'handler-skipped',
        handler: this.binding.subscription,
        attempt: delivery.attempt,
        reason: `replay for ${replayFor}`,
        ...this.#about(cloudEvent),
      });
    }
  }

  /** Input that never reaches the handler: not a CloudEvent, wrong type, data that does not decode. */
  #reject(delivery: Delivery, cloudEvent: CloudEvent | undefined, reason: DeadLetterReason, error: unknown): void {
    this.#deadLetter(delivery, cloudEvent, reason, error, 0);
  }

  #deadLetter(delivery: Delivery, cloudEvent: CloudEvent | undefined, reason: DeadLetterReason, error: unknown, attempts: number): void {
    const handler = this.binding.subscription;
    const record = deadLetterRecordOf(delivery, { reason, handler, attempts, error });
    const telemetry = this.env.telemetry;
    delivery.deadLetter(toDeadLetterMessage(delivery.message, cloudEvent, record, this.env.deadLetterLimits)).then(
      () => {
        this.env.logger.warn(`dead-lettered ${cloudEvent?.type ?? 'a message'} (${reason})`, {
          handler,
          eventId: cloudEvent?.id,
          type: cloudEvent?.type,
          reason,
          attempts,
          error: record.error.message,
        });
        if (telemetry.active) {
          telemetry.emit({
            kind: 'dead-lettered',
            handler,
            attempts,
            reason,
            error: record.error,
            ...(cloudEvent === undefined ? { time: Date.now(), service: this.env.service } : this.#about(cloudEvent)),
          });
        }
      },
      (deadLetterError: unknown) => this.#settleFailed('dead-letter', cloudEvent, deadLetterError),
    );
  }

  /** Settling failed (connection lost): the broker still holds the message and will redeliver it. */
  #settleFailed(what: string, cloudEvent: CloudEvent | undefined, error: unknown): void {
    this.env.logger.warn(`${what} failed; the broker keeps the event and will redeliver it`, {
      handler: this.binding.subscription,
      eventId: cloudEvent?.id,
      error: errorRecordOf(error).message,
    });
  }

  /**
   * Stops receiving, waits up to `timeoutMs` for handlers in flight, then hands what did not
   * finish back to the broker (redelivered later, never dead-lettered). Returns how many were handed back.
   */
  async drain(timeoutMs: number): Promise<number> {
    const subscription = this.#subscription;
    if (subscription !== undefined) await subscription.stop();
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.#drained = undefined;
    }
    const handedBack = this.#inFlight.size;
    for (const work of this.#inFlight) work.released = true;
    this.#inFlight.clear();
    return handedBack;
  }

  /** Ends the subscription; unsettled deliveries return to the broker. */
  async close(): Promise<void> {
    await this.#subscription?.close();
    this.#subscription = undefined;
  }
}
