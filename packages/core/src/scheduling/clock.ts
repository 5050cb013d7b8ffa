/**
 * The time the bus reads: when a schedule is due, what `SagaContext.now()` says. The system clock
 * in production; a {@link VirtualClock} in tests, moved by `advanceTime`.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** `Date.now()`. */
export const systemClock: Clock = { now: () => Date.now() };

interface Timer {
  readonly dueAt: number;
  /** Order of creation: timers due at the same time fire in the order they were set. */
  readonly seq: number;
  readonly fire: () => void;
}

/**
 * A clock that moves only when told to, with timers on it: the memory broker holds delayed
 * redeliveries (and so scheduled events and saga timeouts) on it when a test bus is created with
 * `clock: 'virtual'`. {@link advanceTo} fires due timers in due order (then in the order they were set).
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  /** @param start the time the clock starts at, ms since the epoch. @default Date.now() */
  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Calls `fire` once the clock has reached `now() + delayMs`. Returns a function that cancels it. */
  setTimer(delayMs: number, fire: () => void): () => void {
    const timer: Timer = { dueAt: this.#now + Math.max(0, delayMs), seq: this.#seq++, fire };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the next timer is due, or undefined when there is none. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const timer of this.#timers) if (next === undefined || timer.dueAt < next) next = timer.dueAt;
    return next;
  }

  /**
   * Moves the clock to `time` (never backwards) and fires the timers due by then, earliest first.
   * Timers set while firing that are due by `time` fire too. Returns how many fired.
   */
  advanceTo(time: number): number {
    let fired = 0;
    for (;;) {
      const due = this.#timers.filter((t) => t.dueAt <= time).sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      if (due.dueAt > this.#now) this.#now = due.dueAt;
      fired++;
      due.fire();
    }
    if (time > this.#now) this.#now = time;
    return fired;
  }
}
