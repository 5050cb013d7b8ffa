import { Extensions, type CloudEvent } from '../envelope/cloud-event.js';
import type { Middleware } from './middleware.js';

/**
 * Remembers which events each handler has processed, keyed by handler + CloudEvent `source` +
 * `id`. Implement it on your database to make the mark and the handler's side effect one
 * transaction.
 */
export interface Inbox {
  /** Claims the key; false when it was processed already or is being processed right now. */
  claim(key: string): Promise<boolean>;
  /** The handler succeeded: the key is processed for good. */
  complete(key: string): Promise<void>;
  /** The handler failed: the key may be claimed again (by the retry). */
  release(key: string): Promise<void>;
}

/** Options of {@link MemoryInbox}. */
export interface MemoryInboxOptions {
  /**
   * Processed keys kept; the oldest are forgotten first.
   * @default 100_000
   */
  readonly maxEntries?: number;
}

/** An in-process {@link Inbox}: protects against redeliveries within one process's lifetime. */
export class MemoryInbox implements Inbox {
  readonly #processing = new Set<string>();
  readonly #processed = new Set<string>();
  readonly #maxEntries: number;

  constructor(options: MemoryInboxOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  claim(key: string): Promise<boolean> {
    if (this.#processed.has(key) || this.#processing.has(key)) return Promise.resolve(false);
    this.#processing.add(key);
    return Promise.resolve(true);
  }

  complete(key: string): Promise<void> {
    this.#processing.delete(key);
    this.#processed.add(key);
    if (this.#processed.size > this.#maxEntries) {
      const oldest = this.#processed.values().next().value;
      if (oldest !== undefined) this.#processed.delete(oldest);
    }
    return Promise.resolve();
  }

  release(key: string): Promise<void> {
    this.#processing.delete(key);
    return Promise.resolve();
  }
}

/**
 * The inbox key of an event for a handler: handler, CloudEvent `source` and `id`. A replayed dead
 * letter (`prepareReplay`: it carries `replayfor`) is keyed by the id of the event it replays (its
 * `causationid`), so a dead letter replayed twice runs its handler once. A handler that writes its
 * side effect and the inbox mark in one transaction computes it with
 * `inboxKey(ctx.handler, ctx.cloudEvent)`. U+001F separates the fields: CloudEvents strings cannot
 * hold it, so keys never collide, and databases accept it (unlike NUL).
 */
export function inboxKey(handler: string, cloudEvent: Pick<CloudEvent, 'source' | 'id'> & { readonly [attribute: string]: unknown }): string {
  const replayed = cloudEvent[Extensions.replayFor] !== undefined ? cloudEvent[Extensions.causationId] : undefined;
  return `${handler}\u001f${cloudEvent.source}\u001f${typeof replayed === 'string' ? replayed : cloudEvent.id}`;
}

/** Options of {@link idempotency}. */
export interface IdempotencyOptions {
  /** @default a new MemoryInbox */
  readonly inbox?: Inbox;
}

/**
 * Consume middleware that runs each handler at most once per event (per handler + `source` +
 * `id`): a redelivered event that was already processed is acked without calling the handler.
 */
export function idempotency(options: IdempotencyOptions = {}): Middleware {
  const inbox = options.inbox ?? new MemoryInbox();
  return {
    name: 'idempotency',
    async consume(context, next) {
      const key = inboxKey(context.handler, context.cloudEvent);
      if (!(await inbox.claim(key))) {
        context.skip('duplicate');
        return;
      }
      try {
        await next();
      } catch (error) {
        await inbox.release(key);
        throw error;
      }
      await inbox.complete(key);
    },
  };
}
