import { describe, expect, it } from 'vitest';

import { clockTime, isoTime } from './format-time.js';

describe('date formatting that never throws', () => {
  it('formats a valid time', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(clockTime('2024-05-06T07:08:09.010Z')).toBe('07:08:09.010');
  });

  it.each([1e300, Number.NaN, Number.POSITIVE_INFINITY, 'not a date', undefined, null, {}])('gives the fallback for %s', (value) => {
    expect(isoTime(value)).toBe('—');
    expect(clockTime(value, '?')).toBe('?');
  });
});
