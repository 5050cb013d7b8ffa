import { percentile } from './stats.js';

/** What one run of a publisher/consumer pair measured. */
export interface RunResult {
  /** Messages from the first publish to the last handled, per second. */
  readonly throughput: number;
  /** Publish-to-handled latency, ms. */
  readonly p50: number;
  readonly p99: number;
  /** Process CPU time (user + system) per message, µs: publisher, consumer and client library together. */
  readonly cpuMicros: number;
}

/** Publishes messages `from` to `from + count - 1`; failures are reported with {@link WindowedRun.fail}. */
export type PublishRange = (from: number, count: number) => void;

/**
 * Drives one publisher and one consumer in this process with a bounded window: at most `window`
 * messages published and not yet handled. The publisher tops the window up with one call of
 * `publish` (a batch of every free slot) each time the consumer has freed slots, the same way for
 * every contender, so no one is measured awaiting each confirm alone.
 */
export class WindowedRun {
  readonly #latencies: Float64Array;
  #handled = 0;
  #sent = 0;
  #wake: (() => void) | undefined;
  #failure: unknown;
  #finished: (() => void) | undefined;
  #failed: ((error: unknown) => void) | undefined;

  constructor(
    readonly total: number,
    readonly window: number,
    readonly timeoutMs = 120_000,
  ) {
    this.#latencies = new Float64Array(total);
  }

  /** Consumer side: a message stamped `sentAt` was handled (and settled). */
  readonly handled = (sentAt: number): void => {
    const index = this.#handled++;
    if (index < this.total) this.#latencies[index] = performance.now() - sentAt;
    if (this.#handled === this.total) this.#finished?.();
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  };

  /** Either side: the run cannot complete. */
  readonly fail = (error: unknown): void => {
    this.#failure ??= error;
    this.#failed?.(error);
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  };

  /** Publishes `total` messages through `publish`, keeping the window full, and resolves once all were handled. */
  async run(publish: PublishRange): Promise<RunResult> {
    const done = new Promise<void>((resolve, reject) => {
      this.#finished = resolve;
      this.#failed = reject;
    });
    done.catch(() => {});
    const timer = setTimeout(
      () => this.fail(new Error(`timed out after ${this.timeoutMs} ms: ${this.#handled} of ${this.total} handled, ${this.#sent} published`)),
      this.timeoutMs,
    );
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    try {
      while (this.#sent < this.total) {
        if (this.#failure !== undefined) throw this.#failure;
        const free = this.window - (this.#sent - this.#handled);
        if (free <= 0) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          continue;
        }
        const count = Math.min(free, this.total - this.#sent);
        const from = this.#sent;
        this.#sent += count;
        publish(from, count);
      }
      await done;
    } finally {
      clearTimeout(timer);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const sorted = this.#latencies.sort();
    return {
      throughput: this.total / seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      cpuMicros: (cpu.user + cpu.system) / this.total,
    };
  }
}
