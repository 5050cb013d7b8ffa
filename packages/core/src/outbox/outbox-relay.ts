import type { EventBus } from '../bus/event-bus.js';
import { consoleLogger, type Logger } from '../logger.js';
import type { CloudEvent } from '../envelope/cloud-event.js';
import { ConfigurationError } from '../errors.js';

/** A CloudEvent saved in the outbox, in the same transaction as the data that raised it. */
export interface OutboxEntry {
  /** Increasing position in the outbox: entries are relayed in this order. */
  readonly position: number;
  readonly cloudEvent: CloudEvent;
}

/**
 * Where an application keeps its outbox: a table written in the same transaction as the
 * aggregate (`bus.prepare(events)` builds the CloudEvents to store), read back by the relay.
 */
export interface OutboxStore {
  /** Up to `limit` entries not relayed yet, oldest first. */
  pending(limit: number): Promise<readonly OutboxEntry[]>;
  /** The entries were accepted by the transport: never relay them again. */
  markRelayed(positions: readonly number[]): Promise<void>;
}

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /**
   * Entries published per batch.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How often the relay looks for entries when nobody calls `notify()`, in ms.
   * @default 1_000
   */
  readonly pollIntervalMs?: number;
  /**
   * Longest wait between attempts while publishing fails (the broker is down); the wait doubles
   * from `pollIntervalMs` up to this.
   * @default 30_000
   */
  readonly maxRetryDelayMs?: number;
  /** @default warnings and errors to the console */
  readonly logger?: Logger;
}

/**
 * Relays outbox entries to the bus: an event is never lost between saving the data and
 * publishing it, even when the broker is down at save time. Delivery is at least once: a crash
 * between publishing and `markRelayed` publishes the same CloudEvents (same ids) again, which
 * de-duplicating brokers drop and the idempotency middleware skips.
 */
export class OutboxRelay {
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #failures = 0;

  constructor(
    private readonly bus: EventBus,
    private readonly store: OutboxStore,
    options: OutboxRelayOptions = {},
  ) {
    this.#batchSize = options.batchSize ?? 100;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.#logger = options.logger ?? consoleLogger;
    if (!Number.isSafeInteger(this.#batchSize) || this.#batchSize < 1) {
      throw new ConfigurationError(`OutboxRelay: batchSize must be a positive integer, got ${String(options.batchSize)}.`);
    }
    if (!(this.#pollIntervalMs > 0) || !(this.#maxRetryDelayMs >= this.#pollIntervalMs)) {
      throw new ConfigurationError('OutboxRelay: pollIntervalMs must be > 0 and maxRetryDelayMs >= pollIntervalMs.');
    }
  }

  /** Starts relaying: at once, then every `pollIntervalMs` and whenever `notify()` is called. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.notify();
  }

  /** Relays soon: call after committing a transaction that wrote to the outbox. */
  notify(): void {
    if (this.#stopped || this.#running !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      this.#schedule();
    });
  }

  /** Stops relaying after the batch in flight; what is left stays in the store for the next start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Relays every pending entry now; resolves with how many were relayed, rejects when publishing fails. */
  async relayOnce(): Promise<number> {
    let relayed = 0;
    for (;;) {
      const entries = await this.store.pending(this.#batchSize);
      if (entries.length === 0) return relayed;
      await this.bus.publishPrepared(entries.map((entry) => entry.cloudEvent));
      await this.store.markRelayed(entries.map((entry) => entry.position));
      relayed += entries.length;
      if (entries.length < this.#batchSize) return relayed;
    }
  }

  async #drain(): Promise<void> {
    try {
      await this.relayOnce();
      if (this.#failures > 0) this.#logger.info('outbox relay: publishing again', { failedAttempts: this.#failures });
      this.#failures = 0;
    } catch (error) {
      this.#failures++;
      this.#logger.warn('outbox relay: publishing failed, the events stay in the outbox and are retried', {
        attempt: this.#failures,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = this.#failures === 0 ? this.#pollIntervalMs : Math.min(this.#maxRetryDelayMs, this.#pollIntervalMs * 2 ** this.#failures);
    this.#timer = setTimeout(() => this.notify(), delay);
  }
}

/** An in-memory {@link OutboxStore}, for tests and examples. */
export class MemoryOutboxStore implements OutboxStore {
  readonly #entries: OutboxEntry[] = [];
  #position = 0;

  /** Adds CloudEvents (as `bus.prepare` builds them). */
  add(cloudEvents: readonly CloudEvent[]): void {
    for (const cloudEvent of cloudEvents) this.#entries.push({ position: ++this.#position, cloudEvent });
  }

  get size(): number {
    return this.#entries.length;
  }

  pending(limit: number): Promise<readonly OutboxEntry[]> {
    return Promise.resolve(this.#entries.slice(0, limit));
  }

  markRelayed(positions: readonly number[]): Promise<void> {
    const relayed = new Set(positions);
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if (relayed.has(this.#entries[i]!.position)) this.#entries.splice(i, 1);
    }
    return Promise.resolve();
  }
}
