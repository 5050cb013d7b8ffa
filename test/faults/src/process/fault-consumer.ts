import {
  EventBus,
  EventHandler,
  EventType,
  eventBrand,
  idempotency,
  inboxKey,
  retry,
  silentLogger,
  type EventContext,
  type Inbox,
  type RetryPolicy,
  type Transport,
} from '@cloudbus/core';

import { Ledger } from '../infrastructure/ledger.js';

/** The event every fault case publishes: a sequence number, and optional padding. */
export interface FaultEventData {
  readonly n: number;
  readonly pad?: string | undefined;
}

/** Retry policy of the recording handler, as JSON (crosses the process boundary). */
export type RetrySpec =
  | { readonly kind: 'none' }
  | { readonly kind: 'fixed'; readonly attempts: number; readonly delayMs: number }
  | { readonly kind: 'exponential'; readonly attempts: number; readonly initialDelayMs: number; readonly maxDelayMs: number };

/** Where a consumer kills itself (SIGKILL), to prove a crash at that point loses nothing. */
export type CrashPoint = 'before-effect' | 'after-effect';

/** How the recording handler behaves. */
export interface Behaviour {
  /** Fail the first `failTimes` attempts of every event, then succeed. @default 0 */
  readonly failTimes?: number;
  /** Fail every attempt. @default false */
  readonly alwaysFail?: boolean;
  /** Wait this long before the side effect, in ms. @default 0 */
  readonly delayMs?: number;
  /** SIGKILL this process at `point` while handling its `afterHandled + 1`-th event. */
  readonly crash?: { readonly point: CrashPoint; readonly afterHandled: number };
  /** How long a graceful stop (SIGTERM) waits for handlers in flight. @default 10_000 */
  readonly drainTimeoutMs?: number;
  /** Subscribe a second handler (`Bystander`) to the same event, always succeeding. @default false */
  readonly bystander?: boolean;
}

/** Everything a fault consumer needs; JSON, so a child process can read it from its environment. */
export interface FaultConsumerConfig {
  /** `rabbitmq`, `nats`, `mqtt` or `memory`. */
  readonly transport: string;
  readonly url?: string | undefined;
  readonly transportOptions: Record<string, unknown>;
  readonly service: string;
  /** CloudEvent type of the fault event. */
  readonly type: string;
  readonly ledgerPath: string;
  /** Tells this consumer's rows apart in the ledger. */
  readonly instance: string;
  /** The idempotent inbox (in the ledger's SQLite file) is on. */
  readonly inbox: boolean;
  readonly retry: RetrySpec;
  readonly concurrency: number;
  readonly behaviour: Behaviour;
  readonly maxMessageBytes?: number | undefined;
}

/** The handler names a consumer subscribes, for the checker. */
export const RECORDER = 'Recorder';
export const BYSTANDER = 'Bystander';

/** A handler failure the battery causes on purpose. */
export class SimulatedFailure extends Error {
  override name = 'SimulatedFailure';
}

/**
 * An {@link Inbox} on the ledger's SQLite file. The processed mark is written by the handler in
 * the same transaction as its side effect (core's `inboxKey`); `claim` only keeps two
 * deliveries of one event in this process from running at once.
 */
class LedgerInbox implements Inbox {
  readonly #processing = new Set<string>();
  constructor(private readonly ledger: Ledger) {}
  claim(key: string): Promise<boolean> {
    if (this.#processing.has(key) || this.ledger.inboxHas(key)) return Promise.resolve(false);
    this.#processing.add(key);
    return Promise.resolve(true);
  }
  complete(key: string): Promise<void> {
    this.#processing.delete(key);
    this.ledger.inboxAdd(key);
    return Promise.resolve();
  }
  release(key: string): Promise<void> {
    this.#processing.delete(key);
    return Promise.resolve();
  }
}

/** The event a delivery stands for: a replayed dead letter counts as the event it replays. */
export function eventIdOf(context: EventContext): string {
  const cloudEvent = context.cloudEvent;
  return cloudEvent['replayfor'] !== undefined && typeof cloudEvent.causationid === 'string' ? cloudEvent.causationid : cloudEvent.id;
}

function retryPolicy(spec: RetrySpec): RetryPolicy {
  switch (spec.kind) {
    case 'none':
      return retry.none();
    case 'fixed':
      return retry.fixed({ attempts: spec.attempts, delayMs: spec.delayMs });
    case 'exponential':
      return retry.exponential({ attempts: spec.attempts, initialDelayMs: spec.initialDelayMs, maxDelayMs: spec.maxDelayMs });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A running fault consumer: its bus and ledger. */
export interface RunningFaultConsumer {
  readonly bus: EventBus;
  readonly ledger: Ledger;
  stop(drainTimeoutMs?: number): Promise<void>;
}

/**
 * Starts a bus with the recording handler (and the bystander), as configured. Used by the child
 * process, and in process for the in-memory transport (pass its `transport` instance).
 */
export async function startFaultConsumer(config: FaultConsumerConfig, transport?: Transport): Promise<RunningFaultConsumer> {
  const ledger = new Ledger(config.ledgerPath);
  const behaviour = config.behaviour;
  let handled = 0;

  class FaultEvent implements FaultEventData {

    declare readonly [eventBrand]: string;
    constructor(
      readonly n: number,
      readonly pad?: string,
    ) {}
  }
  EventType(config.type)(FaultEvent);

  const crashHere = (point: CrashPoint): void => {
    const crash = behaviour.crash;
    if (crash !== undefined && crash.point === point && handled === crash.afterHandled) process.kill(process.pid, 'SIGKILL');
  };

  class Recorder {
    async handle(event: FaultEvent, context: EventContext): Promise<void> {
      const id = eventIdOf(context);
      ledger.attempt(id, context.handler, config.instance, context.attempt);
      if (behaviour.alwaysFail === true) throw new SimulatedFailure(`event ${event.n} always fails`);
      if (context.attempt <= (behaviour.failTimes ?? 0)) throw new SimulatedFailure(`event ${event.n} fails on attempt ${context.attempt}`);
      if ((behaviour.delayMs ?? 0) > 0) await sleep(behaviour.delayMs ?? 0);
      crashHere('before-effect');
      ledger.effect(id, context.handler, config.instance, config.inbox ? inboxKey(context.handler, context.cloudEvent) : undefined);
      crashHere('after-effect');
      handled++;
    }
  }
  EventHandler(FaultEvent, { name: RECORDER, retry: retryPolicy(config.retry), concurrency: config.concurrency })(Recorder);

  class Bystander {
    handle(_event: FaultEvent, context: EventContext): void {
      ledger.attempt(eventIdOf(context), context.handler, config.instance, context.attempt);
      ledger.effect(eventIdOf(context), context.handler, config.instance, config.inbox ? inboxKey(context.handler, context.cloudEvent) : undefined);
    }
  }
  EventHandler(FaultEvent, { name: BYSTANDER, concurrency: config.concurrency })(Bystander);

  const bus = new EventBus({
    service: config.service,
    transport: transport ?? (config.transport as 'rabbitmq'),
    ...(config.url === undefined ? {} : { url: config.url }),
    transportOptions: { ...config.transportOptions, logger: silentLogger },
    handlers: behaviour.bystander === true ? [Recorder, Bystander] : [Recorder],
    logger: silentLogger,
    ...(config.maxMessageBytes === undefined ? {} : { maxMessageBytes: config.maxMessageBytes }),
  });
  if (config.inbox) bus.use(idempotency({ inbox: new LedgerInbox(ledger) }));
  await bus.start();
  return {
    bus,
    ledger,
    async stop(drainTimeoutMs = behaviour.drainTimeoutMs ?? 10_000) {
      try {
        await bus.stop({ drainTimeoutMs });
      } finally {
        ledger.close();
      }
    },
  };
}
