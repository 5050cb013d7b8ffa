import { randomUUID } from 'node:crypto';

import type { Logger } from '../logger.js';
import type { CloudEvent } from '../envelope/cloud-event.js';
import { PermanentError, SagaConflictError, SagaNotFoundError } from '../errors.js';
import { eventTypeOf, type Event, type EventClass } from '../events/event-type.js';
import type { EventContext, PublishOptions } from '../handlers/event-context.js';
import type { HandlerDeclaration } from '../handlers/event-handler.js';
import { inboxKey } from '../middleware/idempotency.js';
import type { OutgoingCloudEvent } from '../middleware/middleware.js';
import type { Clock } from '../scheduling/clock.js';
import { buildCarrier, dueTimeOf, type ScheduleTime } from '../scheduling/scheduled-message.js';
import { SAGA_STATE_PREVIEW_CHARS, type SagaTelemetry, type Telemetry } from '../telemetry/telemetry.js';
import { redactCredentials } from '../dead-letter/redact-credentials.js';
import type { SagaContext, SagaMetadata } from './saga.js';
import type { SagaRecord, SagaStore, SagaTimeoutRecord } from './saga-store.js';

/** Extensions a saga timeout carries back to its instance. */
export const SagaExtensions = {
  /** The instance's correlation key. */
  key: 'sagakey',
  /** The token of the request; it counts only while the instance still holds it. */
  token: 'sagatoken',
} as const;

/** Inbox keys kept per instance: a redelivery of one of the latest events is not applied twice. */
const INBOX_SIZE = 32;
/** Immediate re-runs after a concurrency conflict, before the retry policy takes over. */
const CONFLICT_RERUNS = 5;

/** What saga methods need from their bus. */
export interface SagaEnvironment {
  readonly service: string;
  readonly source: string;
  readonly store: SagaStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** Builds CloudEvents as `publish` would, as children of `parent`. */
  readonly prepare: (events: object | readonly object[], options: PublishOptions | undefined, parent: CloudEvent) => OutgoingCloudEvent[];
  /** Publishes CloudEvents (through the publish middleware). */
  readonly publishPrepared: (events: readonly CloudEvent[]) => Promise<void>;
}

/** Serialises the work on one instance in this process, so its events rarely conflict. */
class KeyLanes {
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

class BufferedSagaContext<S> implements SagaContext<S> {
  completed = false;
  readonly outgoing: { readonly events: object | readonly object[]; readonly options: PublishOptions | undefined }[] = [];
  readonly requested: { readonly type: string; readonly timeout: Event; readonly token: string; readonly dueAt: number }[] = [];

  constructor(
    readonly inner: EventContext,
    public state: S,
    readonly isNew: boolean,
    readonly key: string,
    readonly sagaId: string,
    readonly timeouts: Record<string, SagaTimeoutRecord>,
    private readonly clock: Clock,
  ) {}

  get cloudEvent(): CloudEvent {
    return this.inner.cloudEvent;
  }
  get attempt(): number {
    return this.inner.attempt;
  }
  get handler(): string {
    return this.inner.handler;
  }
  get signal(): AbortSignal {
    return this.inner.signal;
  }

  now(): Date {
    return new Date(this.clock.now());
  }

  complete(): void {
    this.completed = true;
  }

  requestTimeout(timeout: Event, when: ScheduleTime): string {
    const type = eventTypeOf((timeout as object).constructor as EventClass)?.type;
    if (type === undefined) throw new PermanentError(`requestTimeout: ${String((timeout as object).constructor.name)} is not an @EventType class.`);
    const dueAt = dueTimeOf(when, this.clock.now());
    const token = randomUUID();
    this.timeouts[type] = { token, dueAt: new Date(dueAt).toISOString() };
    const index = this.requested.findIndex((r) => r.type === type);
    if (index !== -1) this.requested.splice(index, 1);
    this.requested.push({ type, timeout, token, dueAt });
    return token;
  }

  cancelTimeout(timeoutClass: EventClass): void {
    const type = eventTypeOf(timeoutClass)?.type;
    if (type === undefined) return;
    delete this.timeouts[type];
    const index = this.requested.findIndex((r) => r.type === type);
    if (index !== -1) this.requested.splice(index, 1);
  }

  timeoutDue(timeoutClass: EventClass): Date | undefined {
    const type = eventTypeOf(timeoutClass)?.type;
    const due = type === undefined ? undefined : this.timeouts[type]?.dueAt;
    return due === undefined ? undefined : new Date(due);
  }

  publish(events: Event | readonly Event[], options?: PublishOptions): Promise<void> {
    this.outgoing.push({ events, options });
    return Promise.resolve();
  }
}

/** Runs the methods of one saga class: one per saga class and bus, shared by its subscriptions. */
export class SagaInvoker {
  readonly #lanes = new KeyLanes();

  constructor(
    readonly saga: SagaMetadata,
    private readonly env: SagaEnvironment,
  ) {}

  /** The `invoke` of the binding of `declaration`: loads, runs, saves, then sends. */
  invokerFor(declaration: HandlerDeclaration): (instance: object, event: object, context: EventContext) => Promise<void> {
    const method = declaration.method;
    const role = declaration.saga;
    const onMissing = declaration.options.onMissing ?? this.saga.onMissing;
    const timeoutType = role?.kind === 'timeout' ? eventTypeOf(declaration.eventClass)?.type : undefined;
    return async (instance, event, context) => {
      const key = role?.kind === 'timeout' ? context.cloudEvent[SagaExtensions.key] : this.saga.key(event);
      if (typeof key !== 'string' || key === '') {
        if (role?.kind === 'timeout') {
          this.#report('timeout-dropped', String(key), context, 'missing');
          return;
        }
        throw new PermanentError(`Saga ${this.saga.name}: key() returned ${key === '' ? 'an empty string' : typeof key} for ${context.cloudEvent.type}; it must return a non-empty string.`);
      }
      await this.#lanes.run(key, () => this.#handle(key, instance, method, event, context, role, onMissing, timeoutType));
    };
  }

  async #handle(
    key: string,
    instance: object,
    method: string | symbol,
    event: object,
    context: EventContext,
    role: HandlerDeclaration['saga'],
    onMissing: 'discard' | 'retry' | 'dead-letter',
    timeoutType: string | undefined,
  ): Promise<void> {
    const { store } = this.env;
    const name = this.saga.name;
    const inbox = inboxKey(context.handler, context.cloudEvent);
    for (let run = 1; ; run++) {
      const record = await store.get(name, key);
      if (timeoutType !== undefined) {
        const dropped = record === undefined ? 'missing' : record.status === 'completed' ? 'completed' : record.timeouts[timeoutType]?.token !== context.cloudEvent[SagaExtensions.token] ? 'stale' : undefined;
        if (dropped !== undefined) {
          this.#report('timeout-dropped', key, context, dropped);
          return;
        }
      }
      if (record?.inbox.includes(inbox) === true) {
        // A redelivery of a step already saved: send what it emitted again (same ids), apply nothing.
        if (record.outgoing?.inboxKey === inbox) await this.env.publishPrepared(record.outgoing.events);
        this.#report('duplicate', key, context);
        return;
      }
      if (record?.status === 'completed') {
        this.#report('ignored-completed', key, context);
        return;
      }
      let state: unknown;
      const isNew = record === undefined;
      if (record === undefined) {
        if (role?.kind !== 'start') {
          this.#report('not-found', key, context, onMissing);
          if (onMissing === 'discard') return;
          const error = new SagaNotFoundError(name, key);
          throw onMissing === 'retry' ? error : new PermanentError(error.message, { cause: error });
        }
        state = role.init(event as never);
      } else {
        state = this.#upcast(record);
      }
      const timeouts: Record<string, SagaTimeoutRecord> = { ...(record?.timeouts ?? {}) };
      if (timeoutType !== undefined) delete timeouts[timeoutType]; // this one is consumed
      const ctx = new BufferedSagaContext(context, structuredClone(state), isNew, key, record?.id ?? randomUUID(), timeouts, this.env.clock);
      await (instance as Record<string | symbol, (event: object, ctx: SagaContext<unknown>) => unknown>)[method]!(event, ctx);

      const parent = context.cloudEvent;
      const events: CloudEvent[] = [];
      for (const { events: batch, options } of ctx.outgoing) events.push(...(this.env.prepare(batch, options, parent) as unknown as CloudEvent[]));
      const requested = ctx.completed ? [] : ctx.requested;
      for (const request of requested) {
        const [inner] = this.env.prepare(request.timeout, { extensions: { [SagaExtensions.key]: key, [SagaExtensions.token]: request.token } }, parent);
        events.push(buildCarrier(inner as unknown as CloudEvent, request.dueAt, this.env.service, this.env.source));
      }
      const now = new Date(this.env.clock.now()).toISOString();
      const expected = record?.version ?? 0;
      const next: SagaRecord = {
        saga: name,
        key,
        id: ctx.sagaId,
        version: expected + 1,
        stateVersion: this.saga.version,
        // Completion removes the state: the tombstone keeps only what recognises late events.
        state: ctx.completed ? null : ctx.state,
        status: ctx.completed ? 'completed' : 'active',
        completedAt: ctx.completed ? now : null,
        timeouts: ctx.completed ? {} : ctx.timeouts,
        inbox: [...(record?.inbox ?? []).slice(-(INBOX_SIZE - 1)), inbox],
        outgoing: events.length === 0 ? null : { inboxKey: inbox, events },
        updatedAt: now,
      };
      try {
        await store.commit(next, expected);
      } catch (error) {
        if (!(error instanceof SagaConflictError) || run >= CONFLICT_RERUNS) throw error;
        this.#report('conflict', key, context);
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 90));
        continue;
      }
      if (isNew) this.#report('started', key, context);
      if (!ctx.completed) this.#report('updated', key, context, undefined, next.state);
      for (const request of requested) this.#report('timeout-requested', key, context, new Date(request.dueAt).toISOString());
      if (ctx.completed) this.#report('completed', key, context);
      if (events.length > 0) await this.env.publishPrepared(events);
      return;
    }
  }

  #upcast(record: SagaRecord): unknown {
    let state = record.state;
    for (let version = record.stateVersion; version < this.saga.version; version++) {
      const step = this.saga.upcast[version];
      if (step === undefined) {
        throw new PermanentError(`Saga ${this.saga.name} '${record.key}': stored state version ${record.stateVersion} has no upcast from ${version} (current ${this.saga.version}).`);
      }
      state = step(state);
    }
    this.saga.validate?.(state);
    return state;
  }

  #report(action: SagaAction, key: string, context: EventContext, detail?: string, state?: unknown): void {
    const telemetry = this.env.telemetry;
    if (!telemetry.active) return;
    const preview = state === undefined ? undefined : statePreview(state);
    const cloudEvent = context.cloudEvent;
    telemetry.emit({
      kind: 'saga',
      time: Date.now(),
      service: this.env.service,
      saga: this.saga.name,
      key,
      action,
      handler: context.handler,
      ...(detail === undefined ? {} : { detail }),
      ...(preview === undefined ? {} : { state: preview }),
      eventId: cloudEvent.id,
      eventType: cloudEvent.type,
      ...(cloudEvent.correlationid === undefined ? {} : { correlationId: String(cloudEvent.correlationid) }),
    });
  }
}

/** The state as telemetry shows it: JSON, credentials redacted, cut to {@link SAGA_STATE_PREVIEW_CHARS}. */
function statePreview(state: unknown): string | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(state);
  } catch {
    return undefined;
  }
  if (json === undefined) return undefined;
  const text = redactCredentials(json);
  return text.length > SAGA_STATE_PREVIEW_CHARS ? `${text.slice(0, SAGA_STATE_PREVIEW_CHARS - 1)}…` : text;
}

/**
 * What happened to a saga instance: `started`, `updated` (the state saved), `completed`, `conflict` (re-run after a concurrent
 * change), `not-found` (detail: the onMissing policy), `duplicate` (a redelivered step), `ignored-completed`,
 * `timeout-requested` (detail: due time), `timeout-dropped` (detail: `stale`, `completed` or `missing`).
 */
export type SagaAction = SagaTelemetry['action'];
