/**
 * A wait that doubles each time it is taken, from `minMs` up to `maxMs`, until {@link reset}: the
 * backoff of a reconnecting transport, of the bus waiting for its broker, of a publish tried again.
 *
 * ```ts
 * const backoff = new Backoff(250, 5_000);
 * backoff.next(); // 250
 * backoff.next(); // 500
 * backoff.reset(); // connected: the next loss starts at 250 again
 * ```
 */
export class Backoff {
  #next: number;

  constructor(
    readonly minMs: number,
    readonly maxMs: number,
  ) {
    this.#next = minMs;
  }

  /** The wait to take now, in ms; the next call returns twice as much, at most `maxMs`. */
  next(): number {
    const wait = this.#next;
    this.#next = Math.min(wait * 2, this.maxMs);
    return wait;
  }

  /** Starts again from `minMs` (after a success). */
  reset(): void {
    this.#next = this.minMs;
  }
}
