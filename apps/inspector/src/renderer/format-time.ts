/**
 * Date formatting that never throws: `new Date(x).toISOString()` throws a RangeError for a time a
 * `Date` cannot hold (1e300, NaN, a string that is not a date), and one such value off the wire
 * must not break a view.
 */

/** A time (ms since the epoch, or a date string) as ISO 8601, or `fallback` when it is not a valid date. */
export function isoTime(value: unknown, fallback = '—'): string {
  if (typeof value !== 'number' && typeof value !== 'string') return fallback;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? fallback : date.toISOString();
}

/** The time of day (`HH:MM:SS.mmm`) of a time, or `fallback` when it is not a valid date. */
export function clockTime(value: unknown, fallback = '—'): string {
  const iso = isoTime(value, '');
  return iso === '' ? fallback : iso.slice(11, 23);
}
