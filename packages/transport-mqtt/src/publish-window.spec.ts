import { describe, expect, it } from 'vitest';

import { PublishWindow } from './publish-window.js';

describe('publish window', () => {
  it('lets `size` holders in at once and the next ones in order as places free up', async () => {
    const window = new PublishWindow(2);
    expect(window.tryAcquire()).toBe(true);
    expect(window.tryAcquire()).toBe(true);
    expect(window.tryAcquire()).toBe(false);
    const order: number[] = [];
    const waiting = [1, 2, 3].map((n) => window.wait().then(() => order.push(n)));
    window.release();
    window.release();
    await Promise.resolve();
    expect(order).toEqual([1, 2]);
    window.release();
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
    // Holders now: waiters 2 and 3.
    expect(window.tryAcquire()).toBe(false);
    window.release();
    window.release();
    expect(window.tryAcquire()).toBe(true);
    expect(window.tryAcquire()).toBe(true);
    expect(window.tryAcquire()).toBe(false);
  });
});
