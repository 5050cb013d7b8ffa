import { describe, expect, it } from 'vitest';

import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles the wait up to its maximum, and starts again from the minimum after a reset', () => {
    const backoff = new Backoff(250, 1_500);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([250, 500, 1_000, 1_500, 1_500]);
    backoff.reset();
    expect(backoff.next()).toBe(250);
  });
});
