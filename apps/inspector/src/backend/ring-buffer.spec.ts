import { describe, expect, it } from 'vitest';

import { RingBuffer } from './ring-buffer.js';

describe('RingBuffer', () => {
  it('keeps the newest items in order and counts every overwritten one', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 5; i++) ring.push(i);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.dropped).toBe(2);
    expect(ring.at(0)).toBe(3);
    expect(ring.at(3)).toBeUndefined();
  });

  it('reports nothing dropped until it is full, and starts over when cleared', () => {
    const ring = new RingBuffer<string>(2);
    expect(ring.push('a')).toBeUndefined();
    expect(ring.push('b')).toBeUndefined();
    expect(ring.dropped).toBe(0);
    expect(ring.push('c')).toBe('a');
    ring.clear();
    expect(ring.size).toBe(0);
    expect(ring.dropped).toBe(0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
  });
});
