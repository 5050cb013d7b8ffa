import { ConfigurationError } from '../errors.js';

/**
 * When and how often a failed handler runs again. `attempts` counts every call of the handler,
 * the first included, so `attempts: 1` means no retry.
 */
export interface RetryPolicy {
  /** Calls of the handler in all, the first included. */
  readonly attempts: number;
  /**
   * Longest time from the first attempt to the start of the last retry: a retry that would start
   * later dead-letters the event instead.
   * @default Infinity
   */
  readonly maxElapsedMs: number;
  /** Delay before the attempt after `failedAttempt` (1 for the first call). */
  delayMs(failedAttempt: number): number;
  /** Short description for logs and telemetry, e.g. `exponential(5, 100ms..5000ms)`. */
  readonly description: string;
}

/** Options of {@link retry.fixed}. */
export interface FixedRetryOptions {
  /** Calls of the handler in all, the first included. */
  readonly attempts: number;
  /** Delay between attempts. */
  readonly delayMs: number;
  /** @default Infinity */
  readonly maxElapsedMs?: number;
}

/** Options of {@link retry.exponential}. */
export interface ExponentialRetryOptions {
  /** Calls of the handler in all, the first included. */
  readonly attempts: number;
  /** Delay before the second attempt. */
  readonly initialDelayMs: number;
  /**
   * Upper bound of any single delay.
   * @default 60_000
   */
  readonly maxDelayMs?: number;
  /**
   * Growth factor between delays.
   * @default 2
   */
  readonly multiplier?: number;
  /**
   * Randomisation, so that consumers failing together do not retry together: each delay is drawn
   * uniformly from `[delay * (1 - jitter), delay]`. `true` is full jitter (1), `false` is none (0).
   * @default 0.2
   */
  readonly jitter?: number | boolean;
  /** @default Infinity */
  readonly maxElapsedMs?: number;
}

function requireAttempts(attempts: number, policy: string): number {
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw new ConfigurationError(`retry.${policy}: attempts must be an integer of 1 or more (it counts the first call), got ${String(attempts)}.`);
  }
  return attempts;
}

function requireDelay(value: number, name: string, policy: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(`retry.${policy}: ${name} must be a finite number of milliseconds >= 0, got ${String(value)}.`);
  }
  return value;
}

function requireElapsed(value: number | undefined, policy: string): number {
  if (value === undefined) return Infinity;
  if (!(value > 0)) throw new ConfigurationError(`retry.${policy}: maxElapsedMs must be > 0, got ${String(value)}.`);
  return value;
}

/** Retry policies for `@EventHandler(Event, { retry })`. */
export const retry = {
  /** Never retry: the first failure dead-letters the event. */
  none(): RetryPolicy {
    return { attempts: 1, maxElapsedMs: Infinity, delayMs: () => 0, description: 'none' };
  },

  /** Retry at once, up to `attempts` calls in all. */
  immediate(attempts: number): RetryPolicy {
    requireAttempts(attempts, 'immediate');
    return { attempts, maxElapsedMs: Infinity, delayMs: () => 0, description: `immediate(${attempts})` };
  },

  /** Retry after the same delay each time. */
  fixed(options: FixedRetryOptions): RetryPolicy {
    const attempts = requireAttempts(options.attempts, 'fixed');
    const delay = requireDelay(options.delayMs, 'delayMs', 'fixed');
    return {
      attempts,
      maxElapsedMs: requireElapsed(options.maxElapsedMs, 'fixed'),
      delayMs: () => delay,
      description: `fixed(${attempts}, ${delay}ms)`,
    };
  },

  /** Retry after delays growing by `multiplier`, capped at `maxDelayMs`, with jitter. */
  exponential(options: ExponentialRetryOptions): RetryPolicy {
    const attempts = requireAttempts(options.attempts, 'exponential');
    const initial = requireDelay(options.initialDelayMs, 'initialDelayMs', 'exponential');
    const max = requireDelay(options.maxDelayMs ?? 60_000, 'maxDelayMs', 'exponential');
    if (max < initial) {
      throw new ConfigurationError(`retry.exponential: maxDelayMs (${max}) must be >= initialDelayMs (${initial}).`);
    }
    const multiplier = options.multiplier ?? 2;
    if (!(multiplier >= 1) || !Number.isFinite(multiplier)) {
      throw new ConfigurationError(`retry.exponential: multiplier must be a finite number >= 1, got ${String(multiplier)}.`);
    }
    const jitter = options.jitter === true ? 1 : options.jitter === false ? 0 : (options.jitter ?? 0.2);
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new ConfigurationError(`retry.exponential: jitter must be between 0 and 1, got ${String(options.jitter)}.`);
    }
    return {
      attempts,
      maxElapsedMs: requireElapsed(options.maxElapsedMs, 'exponential'),
      delayMs(failedAttempt: number): number {
        const base = Math.min(max, initial * multiplier ** (failedAttempt - 1));
        return Math.round(base * (1 - jitter * Math.random()));
      },
      description: `exponential(${attempts}, ${initial}ms..${max}ms)`,
    };
  },
} as const;
