/**
 * Total comparators for sorting what came off the wire: they never throw, whatever the values
 * (a number where text was expected, NaN), so one bad record cannot break a sort.
 */

/** Orders by text; anything else is compared as its string form, `undefined` and `null` as ''. */
export function compareText(a: unknown, b: unknown): number {
  const x = typeof a === 'string' ? a : a === undefined || a === null ? '' : String(a);
  const y = typeof b === 'string' ? b : b === undefined || b === null ? '' : String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Orders by number; NaN and non-numbers count as 0. */
export function compareNumber(a: unknown, b: unknown): number {
  const x = typeof a === 'number' && !Number.isNaN(a) ? a : 0;
  const y = typeof b === 'number' && !Number.isNaN(b) ? b : 0;
  return x < y ? -1 : x > y ? 1 : 0;
}
