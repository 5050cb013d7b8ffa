import { PublishError, type OutgoingMessage } from '@cloudbus/core/transport';

/** How the messages of one publish call end: each is confirmed or failed once, by its index. */
export interface PublishOutcome {
  /** Given up (timed out): messages not sent yet are not sent at all, nor published again. */
  readonly abandoned: boolean;
  /** Some of its messages were published again for want of a subscriber (for the error message). */
  unrouted: boolean;
  confirmed(index: number): void;
  failed(index: number, error: unknown): void;
}

/**
 * One `publish` call: resolves once every message is confirmed, rejects with `PublishError`
 * listing the ids not confirmed when one failed or `publishTimeoutMs` passed (see
 * {@link BatchDeadlines}). No promise or closure per message.
 */
export class PublishBatch implements PublishOutcome {
  abandoned = false;
  unrouted = false;
  done = false;
  readonly deadline: number;
  #pending: number;
  readonly #confirmed: Uint8Array;
  #failure: unknown;

  constructor(
    private readonly messages: readonly OutgoingMessage[],
    private readonly publishTimeoutMs: number,
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
    private readonly onDone: () => void,
  ) {
    this.#pending = messages.length;
    this.#confirmed = new Uint8Array(messages.length);
    this.deadline = Date.now() + publishTimeoutMs;
  }

  confirmed(index: number): void {
    this.#confirmed[index] = 1;
    if (--this.#pending === 0) this.#finish(false);
  }

  failed(_index: number, error: unknown): void {
    this.#failure ??= error;
    if (--this.#pending === 0) this.#finish(false);
  }

  /** `publishTimeoutMs` passed: rejects, and what still waits for a place in the window is not sent. */
  expire(): void {
    this.abandoned = true;
    this.#finish(true);
  }

  #finish(timedOut: boolean): void {
    if (this.done) return;
    this.done = true;
    this.onDone();
    const failure = this.#failure;
    if (!timedOut && failure === undefined) {
      this.resolve();
      return;
    }
    const unconfirmed: string[] = [];
    for (let i = 0; i < this.messages.length; i++) if (this.#confirmed[i] === 0) unconfirmed.push(this.messages[i]!.id);
    const why = timedOut
      ? this.unrouted
        ? `no PUBACK within ${this.publishTimeoutMs} ms with a subscriber for their topic, which had subscribers before (are its consumers back after a broker restart? the broker did not store them)`
        : `no PUBACK within ${this.publishTimeoutMs} ms (is the broker reachable?)`
      : `the broker refused or the connection failed: ${(failure as Error | undefined)?.message ?? String(failure)}`;
    this.reject(
      new PublishError(
        `mqtt transport: ${unconfirmed.length} of ${this.messages.length} message(s) not confirmed: ${why}. They may or may not have been delivered; publish them again.`,
        unconfirmed,
        failure === undefined ? undefined : { cause: failure },
      ),
    );
  }
}

/**
 * The deadlines of the open batches, with one timer for all of them instead of one per batch:
 * batches share `publishTimeoutMs`, so they expire in the order they were created. The timer is
 * armed for the oldest open batch, and cleared once no batch is open.
 */
export class BatchDeadlines {
  #queue: PublishBatch[] = [];
  #head = 0;
  #open = 0;
  #timer: NodeJS.Timeout | undefined;

  add(batch: PublishBatch): void {
    this.#open++;
    this.#queue.push(batch);
    if (this.#timer === undefined) this.#arm();
  }

  /** A batch finished (confirmed, failed or expired). */
  finished(): void {
    if (--this.#open === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#queue = [];
      this.#head = 0;
    }
  }

  #arm(): void {
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.done) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    const oldest = this.#queue[this.#head];
    this.#timer = oldest === undefined ? undefined : setTimeout(this.#fire, Math.max(0, oldest.deadline - Date.now()));
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const now = Date.now();
    while (this.#head < this.#queue.length) {
      const batch = this.#queue[this.#head]!;
      if (!batch.done && batch.deadline > now) break;
      this.#head++;
      if (!batch.done) batch.expire();
    }
    if (this.#open > 0 && this.#timer === undefined) this.#arm();
  };
}

/** One message published on its own (redeliveries, dead letters): a promise's resolve and reject. */
export class SinglePublish implements PublishOutcome {
  readonly abandoned = false;
  unrouted = false;

  constructor(
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  confirmed(): void {
    this.resolve();
  }

  failed(_index: number, error: unknown): void {
    this.reject(error);
  }
}
