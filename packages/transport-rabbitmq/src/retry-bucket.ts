/** Steps of each power of ten a retry delay is rounded up to: at most 25 % longer than asked. */
const STEPS = [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10] as const;

/** Longest delay kept by a retry queue: 24 days, under the 32-bit limit of `x-message-ttl`. */
export const MAX_RETRY_DELAY_MS = 2_073_600_000;

/**
 * The retry queue a delay goes to: the delay rounded UP to 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6 or 8
 * times a power of ten ms (so 300 stays 300, 1 234 becomes 1 250, 7 000 becomes 8 000). Never
 * shorter than asked, at most 25 % longer, and about ten queues per decade of delays.
 */
export function retryBucketOf(delayMs: number): number {
  if (!(delayMs > 1)) return 1;
  if (delayMs >= MAX_RETRY_DELAY_MS) return MAX_RETRY_DELAY_MS;
  const ceiling = Math.ceil(delayMs);
  const magnitude = 10 ** (String(ceiling).length - 1);
  for (const step of STEPS) {
    const bucket = Math.round(step * magnitude);
    if (bucket >= ceiling) return bucket;
  }
  return 10 * magnitude;
}
