/**
 * A bounded buffer keeping the newest `capacity` items. Pushing into a full buffer overwrites the
 * oldest item and counts it in {@link RingBuffer.dropped}: nothing is dropped silently.
 * Pushing is O(1) and allocates nothing.
 */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #start = 0;
  #size = 0;
  #dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer; got ${capacity}.`);
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Items overwritten because the buffer was full, since construction or the last clear. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Adds an item; returns the item it overwrote, if the buffer was full. */
  push(item: T): T | undefined {
    if (this.#size < this.capacity) {
      this.#items[(this.#start + this.#size) % this.capacity] = item;
      this.#size++;
      return undefined;
    }
    const overwritten = this.#items[this.#start];
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % this.capacity;
    this.#dropped++;
    return overwritten;
  }

  /** The item at `index` (0 = oldest kept). */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#size) return undefined;
    return this.#items[(this.#start + index) % this.capacity];
  }

  /** Items from oldest to newest. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#items[(this.#start + i) % this.capacity] as T;
  }

  toArray(): T[] {
    return [...this];
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#start = 0;
    this.#size = 0;
    this.#dropped = 0;
  }
}
