import { AsyncLocalStorage } from 'node:async_hooks';

import type { CloudEvent, ExtensionValue } from '../envelope/cloud-event.js';
import type { Event } from '../events/event-type.js';

/** Options of `publish`, on the bus and on the context. */
export interface PublishOptions {
  /**
   * The CloudEvent `id`. Set it to make a publish idempotent where the broker de-duplicates
   * (NATS JetStream). Only for a single event.
   * @default a random UUID
   */
  readonly id?: string;
  /** @default `subject` from `@EventType`, or none */
  readonly subject?: string;
  /** @default now */
  readonly time?: Date;
  /**
   * The correlation id of the flow.
   * @default the handled event's when publishing while handling one, else the new event's own id
   */
  readonly correlationId?: string;
  /** More extension attributes (lower-case names, string, integer or boolean values). */
  readonly extensions?: Readonly<Record<string, ExtensionValue>>;
}

/** Publishes events; what both the bus and the handler context offer. */
export interface EventPublisher {
  /**
   * Publishes one event or a batch; resolves once the transport durably accepted all of them.
   * Inside a handler, the events inherit its correlation id and get its event's id as causation id.
   * Only instances of `@EventType` classes compile (and anything else is rejected at run time).
   */
  publish(events: Event | readonly Event[], options?: PublishOptions): Promise<void>;
}

/** What a handler receives next to its event. */
export interface EventContext extends EventPublisher {
  /** The received CloudEvent, attributes and extensions as plain properties. */
  readonly cloudEvent: CloudEvent;
  /** 1 on the first call for this event, one more on each retry. */
  readonly attempt: number;
  /** The handler's subscription name, `<service>.<handler>`. */
  readonly handler: string;
  /** Aborted when the bus stops and the drain timeout has passed: stop work, the event will be redelivered. */
  readonly signal: AbortSignal;
}

const ambient = new AsyncLocalStorage<EventContext>();

/** The context of the event being handled in this async flow, if any. */
export function currentEventContext(): EventContext | undefined {
  return ambient.getStore();
}

/** Runs `fn` with `context` as the ambient event context (what `bus.publish` inherits from). */
export function runInEventContext<R>(context: EventContext, fn: () => R): R {
  return ambient.run(context, fn);
}
