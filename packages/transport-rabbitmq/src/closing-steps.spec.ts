import type { ChannelModel } from 'amqplib';
import { describe, expect, it } from 'vitest';

import { ClosingSteps, settleBefore } from './closing-steps.js';

const never = () => new Promise<void>(() => {});
const model = () => ({}) as ChannelModel;

describe('closing steps', () => {
  it('gives up on a step the broker never answers at its deadline, without rejecting', async () => {
    const began = Date.now();
    await expect(new ClosingSteps(50).wait(model(), never())).resolves.toBe(false);
    expect(Date.now() - began).toBeGreaterThanOrEqual(45);
  });

  it('reports a step that fails in time as settled (closing an already closed channel is fine)', async () => {
    await expect(new ClosingSteps(5_000).wait(model(), Promise.reject(new Error('Channel closed')))).resolves.toBe(true);
    await expect(settleBefore(Promise.resolve(), Date.now() + 5_000)).resolves.toBe(true);
  });

  it('no longer waits on a connection once a step timed out on it, and still waits on others', async () => {
    const closing = new ClosingSteps(50);
    const dead = model();
    await closing.wait(dead, never());
    expect(closing.isUnresponsive(dead)).toBe(true);
    const next = closing.wait(dead, never(), Date.now() + 60_000);
    await expect(Promise.race([next, new Promise((resolve) => setTimeout(() => resolve('waited'), 1_000))])).resolves.toBe(false);
    const live = model();
    await expect(closing.wait(live, Promise.resolve())).resolves.toBe(true);
    expect(closing.isUnresponsive(live)).toBe(false);
  });
});
