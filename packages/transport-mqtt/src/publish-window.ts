/**
 * A counting window: at most `size` holders at once, the others wait in order. Bounds the
 * publishes awaiting a PUBACK, so a large batch or a long disconnection never piles up unbounded
 * in the client's store.
 */
export class PublishWindow {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  #head = 0;

  constructor(readonly size: number) {
    this.#free = size;
  }

  /** Takes a place now (true) or not (false: call {@link wait}). */
  tryAcquire(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  /** Resolves once a place is taken for the caller. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives a place back, to the longest waiter if there is one. */
  release(): void {
    if (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head]!;
      this.#waiting[this.#head++] = undefined as unknown as () => void;
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      next();
      return;
    }
    this.#free++;
  }
}
