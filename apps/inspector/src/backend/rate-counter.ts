import type { RateSnapshot } from '../shared/rates.js';
import { compareNumber, compareText } from './compare.js';
import type { TelemetryRecord } from '../shared/telemetry-record.js';

interface TypeCounts {
  total: number;
  readonly slots: number[];
}

interface HandlerCounts {
  succeeded: number;
  failed: number;
  deadLettered: number;
}

/**
 * Events per second per type over a sliding window of one-second slots, and handler outcome
 * counts from telemetry. Counting is O(1); slots are recycled once a second.
 */
export class RateCounter {
  readonly #types = new Map<string, TypeCounts>();
  readonly #handlers = new Map<string, HandlerCounts>();
  readonly #slotSecond: number[];

  constructor(readonly windowSeconds = 10) {
    this.#slotSecond = new Array<number>(windowSeconds).fill(-1);
  }

  #slot(now: number): number {
    const second = Math.floor(now / 1000);
    const slot = second % this.windowSeconds;
    if (this.#slotSecond[slot] !== second) {
      this.#slotSecond[slot] = second;
      for (const counts of this.#types.values()) counts.slots[slot] = 0;
    }
    return slot;
  }

  /** Counts one event of `type` received at `now` (ms). */
  countEvent(type: string, now: number): void {
    const slot = this.#slot(now);
    let counts = this.#types.get(type);
    if (counts === undefined) {
      counts = { total: 0, slots: new Array<number>(this.windowSeconds).fill(0) };
      this.#types.set(type, counts);
    }
    counts.total++;
    counts.slots[slot]!++;
  }

  /** Counts a handler outcome reported by telemetry. */
  countTelemetry(record: TelemetryRecord): void {
    if (record.handler === undefined) return;
    let counts = this.#handlers.get(record.handler);
    if (counts === undefined) {
      counts = { succeeded: 0, failed: 0, deadLettered: 0 };
      this.#handlers.set(record.handler, counts);
    }
    if (record.kind === 'handler-succeeded') counts.succeeded++;
    else if (record.kind === 'handler-failed') counts.failed++;
    else if (record.kind === 'dead-lettered') counts.deadLettered++;
  }

  /** Rates as of `now` (ms): complete seconds of the window only. */
  snapshot(now: number): RateSnapshot {
    this.#slot(now);
    const second = Math.floor(now / 1000);
    const types: { type: string; perSecond: number; total: number }[] = [];
    for (const [type, counts] of this.#types) {
      let sum = 0;
      for (let slot = 0; slot < this.windowSeconds; slot++) {
        const slotSecond = this.#slotSecond[slot]!;
        if (slotSecond !== second && slotSecond > second - this.windowSeconds) sum += counts.slots[slot]!;
      }
      types.push({ type, perSecond: Math.round((sum / (this.windowSeconds - 1)) * 10) / 10, total: counts.total });
    }
    types.sort((a, b) => compareNumber(b.perSecond, a.perSecond) || compareNumber(b.total, a.total) || compareText(a.type, b.type));
    const handlers = [...this.#handlers].map(([handler, counts]) => ({ handler, ...counts }));
    handlers.sort((a, b) => compareNumber(b.failed + b.deadLettered, a.failed + a.deadLettered) || compareText(a.handler, b.handler));
    return { windowSeconds: this.windowSeconds - 1, types, handlers };
  }

  clear(): void {
    this.#types.clear();
    this.#handlers.clear();
    this.#slotSecond.fill(-1);
  }
}
