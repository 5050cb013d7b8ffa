import { InvalidCloudEventError, PermanentError, UnsupportedEventVersionError } from '../errors.js';

/** Error classes, or a predicate over the thrown value. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorMatcher = readonly (abstract new (...args: any[]) => unknown)[] | ((error: unknown) => boolean);

/** Which errors a handler retries. */
export interface ErrorClassification {
  /** Only these errors are retried; any other goes straight to dead letter. @default every error */
  readonly retryOn?: ErrorMatcher | undefined;
  /** These errors go straight to dead letter, without retries. Checked before `retryOn`. @default none */
  readonly deadLetterOn?: ErrorMatcher | undefined;
}

function matches(matcher: ErrorMatcher, error: unknown): boolean {
  if (typeof matcher === 'function') return matcher(error);
  return matcher.some((errorClass) => error instanceof errorClass);
}

/**
 * True when retrying can help. {@link PermanentError}, invalid input and unsupported versions
 * never are; then `deadLetterOn`, then `retryOn` decide.
 */
export function isRetryable(error: unknown, classification: ErrorClassification): boolean {
  if (
    error instanceof PermanentError ||
    error instanceof InvalidCloudEventError ||
    error instanceof UnsupportedEventVersionError
  ) {
    return false;
  }
  if (classification.deadLetterOn !== undefined && matches(classification.deadLetterOn, error)) return false;
  if (classification.retryOn !== undefined) return matches(classification.retryOn, error);
  return true;
}
