import { toDeadLetterMessage, type DeadLetterLimits } from '../dead-letter/dead-letter-message.js';
import { deadLetterRecordOf, errorRecordOf, type DeadLetterReason } from '../dead-letter/dead-letter-record.js';
import type { CloudEvent } from '../envelope/cloud-event.js';
import { inProcessEventOf } from '../envelope/in-process-event.js';
import { decodeCloudEvent, type ReceiveLimits } from '../envelope/wire-codec.js';
import { InvalidCloudEventError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Delivery, Subscription, SubscriptionSpec } from '../transport/transport.js';
import type { Clock } from './clock.js';
import type { ScheduleCancellations } from './schedule-cancellations.js';
import { carrierTypeOf, readCarrier, schedulerSubscriptionOf, type Carried } from './scheduled-message.js';

/** What the scheduler needs from its bus. */
export interface SchedulerEnvironment {
  readonly service: string;
  readonly clock: Clock;
  readonly cancellations: ScheduleCancellations;
  readonly logger: Logger;
  readonly inProcess: boolean;
  readonly maxMessageBytes: number;
  readonly receiveLimits: ReceiveLimits;
  readonly deadLetterLimits: DeadLetterLimits;
  readonly concurrency: number;
  /** Publishes the due event (through the bus's publish middleware). */
  readonly publish: (event: CloudEvent) => Promise<void>;
}

/**
 * Longest single wait handed to the broker, in ms (about 11.5 days): below every transport's
 * limit on a redelivery delay. A longer schedule waits several times.
 */
const MAX_WAIT_MS = 1_000_000_000;
/** Below this, a wait is handed to the broker as it is; above it, in steps (see {@link waitOf}). */
const EXACT_WAIT_MS = 1_000;
/** Wait before trying again when publishing a due event failed (the broker is down, say). */
const PUBLISH_RETRY_MS = 5_000;

/**
 * How long to wait before looking at a schedule again. Brokers round a redelivery delay up (the
 * RabbitMQ transport by up to 25 %), so a long wait asks for 80 % of what is left: never early,
 * and the rest shrinks fivefold each time, down to a last exact wait of a second or less.
 */
export function waitOf(remainingMs: number): number {
  if (remainingMs <= EXACT_WAIT_MS) return Math.max(1, Math.ceil(remainingMs));
  return Math.min(MAX_WAIT_MS, Math.max(EXACT_WAIT_MS, Math.floor(remainingMs * 0.8)));
}

/**
 * Runs a service's scheduler subscription: every scheduled event waits there, in a carrier, and
 * is handed back to the broker (`nack(delay)`, the mechanism of retry delays) until it is due.
 * The delay is therefore held by the broker, and a schedule survives a restart of the app. Once
 * due, a schedule not cancelled is published and its carrier acked. Never throws into the transport.
 */
export class SchedulerRunner {
  readonly #env: SchedulerEnvironment;
  readonly #type: string;
  readonly #inFlight = new Set<Promise<void>>();
  #subscription: Subscription | undefined;
  #stopped = false;

  constructor(env: SchedulerEnvironment) {
    this.#env = env;
    this.#type = carrierTypeOf(env.service);
  }

  get spec(): SubscriptionSpec {
    return { name: schedulerSubscriptionOf(this.#env.service), types: [this.#type], concurrency: this.#env.concurrency };
  }

  attach(subscription: Subscription): void {
    this.#subscription = subscription;
  }

  readonly onDelivery = (delivery: Delivery): void => {
    let cloudEvent: CloudEvent | undefined;
    try {
      if (this.#stopped) return; // handed back at close
      cloudEvent = this.#env.inProcess ? inProcessEventOf(delivery.message) : undefined;
      if (cloudEvent === undefined) {
        if (delivery.message.body.byteLength > this.#env.maxMessageBytes) {
          throw new InvalidCloudEventError(`Message of ${delivery.message.body.byteLength} bytes is over the limit of ${this.#env.maxMessageBytes} bytes; not parsed.`);
        }
        cloudEvent = decodeCloudEvent(delivery.message, this.#env.receiveLimits);
      }
      if (cloudEvent.type !== this.#type) {
        this.#deadLetter(delivery, cloudEvent, 'unknown-type', new InvalidCloudEventError(`The scheduler of ${this.#env.service} takes '${this.#type}', not '${cloudEvent.type}'.`, 'type'));
        return;
      }
      const carried = readCarrier(cloudEvent);
      const remaining = carried.dueAt - this.#env.clock.now();
      if (remaining > 0) {
        this.#settle(delivery.nack(waitOf(remaining)), 'nack');
        return;
      }
      this.#track(this.#fire(delivery, carried));
    } catch (error) {
      this.#deadLetter(delivery, cloudEvent, 'invalid', error);
    }
  };

  async #fire(delivery: Delivery, carried: Carried): Promise<void> {
    const { cancellations, logger } = this.#env;
    try {
      if (await cancellations.isCancelled(carried.scheduleId)) {
        await delivery.ack();
        await cancellations.forget(carried.scheduleId);
        logger.debug(`scheduled ${carried.event.type} ${carried.event.id} was cancelled: dropped`, { scheduleId: carried.scheduleId });
        return;
      }
      await this.#env.publish(carried.event);
      await delivery.ack();
    } catch (error) {
      logger.warn(`publishing scheduled ${carried.event.type} ${carried.event.id} failed; trying again in ${PUBLISH_RETRY_MS} ms`, {
        scheduleId: carried.scheduleId,
        error: errorRecordOf(error).message,
      });
      await delivery.nack(PUBLISH_RETRY_MS).catch(() => {});
    }
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  #settle(settled: Promise<void>, what: string): void {
    settled.catch((error: unknown) =>
      this.#env.logger.warn(`scheduler: ${what} failed; the broker keeps the schedule and will redeliver it`, { error: errorRecordOf(error).message }),
    );
  }

  #deadLetter(delivery: Delivery, cloudEvent: CloudEvent | undefined, reason: DeadLetterReason, error: unknown): void {
    try {
      const record = deadLetterRecordOf(delivery, { reason, handler: this.spec.name, attempts: 0, error });
      this.#env.logger.warn(`scheduler: dead-lettering ${cloudEvent?.type ?? 'a message'} (${reason})`, { error: record.error.message });
      this.#settle(delivery.deadLetter(toDeadLetterMessage(delivery.message, cloudEvent, record, this.#env.deadLetterLimits)), 'dead-letter');
    } catch (deadLetterError) {
      this.#env.logger.error('scheduler: could not dead-letter a message', { error: errorRecordOf(deadLetterError).message });
    }
  }

  /** Stops receiving and waits (up to `timeoutMs`) for due events being published. */
  async drain(timeoutMs: number): Promise<void> {
    await this.#subscription?.stop();
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await this.#subscription?.close();
    this.#subscription = undefined;
  }
}
