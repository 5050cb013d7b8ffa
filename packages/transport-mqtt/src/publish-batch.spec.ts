import { PublishError } from '@cloudbus/core';
import { type OutgoingMessage } from '@cloudbus/core/transport';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { BatchDeadlines, PublishBatch } from './publish-batch.js';

const message = (id: string): OutgoingMessage => ({ id, type: 't', message: { headers: {}, body: new Uint8Array(0) } });

describe('publish batches and their deadlines', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function batch(deadlines: BatchDeadlines, ids: string[], timeoutMs = 1_000) {
    const outcome: { resolved: boolean; error: unknown } = { resolved: false, error: undefined };
    const created = new PublishBatch(
      ids.map(message),
      timeoutMs,
      () => (outcome.resolved = true),
      (error) => (outcome.error = error),
      () => deadlines.finished(),
    );
    deadlines.add(created);
    return { batch: created, outcome };
  }

  it('resolves once every message is confirmed, and leaves no timer behind', () => {
    const deadlines = new BatchDeadlines();
    const { batch: first, outcome } = batch(deadlines, ['a', 'b']);
    first.confirmed(1);
    first.confirmed(0);
    expect(outcome.resolved).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the ids not confirmed when a message fails', () => {
    const deadlines = new BatchDeadlines();
    const { batch: first, outcome } = batch(deadlines, ['a', 'b', 'c']);
    first.confirmed(0);
    first.failed(1, new Error('refused'));
    first.confirmed(2);
    expect(outcome.error).toBeInstanceOf(PublishError);
    expect((outcome.error as PublishError).unconfirmed).toEqual(['b']);
  });

  it('expires the open batches in order with one timer, and abandons what they had not sent', () => {
    const deadlines = new BatchDeadlines();
    const first = batch(deadlines, ['a']);
    vi.advanceTimersByTime(400);
    const second = batch(deadlines, ['b']);
    const third = batch(deadlines, ['c']);
    third.batch.confirmed(0);
    expect(vi.getTimerCount()).toBe(1);

    vi.advanceTimersByTime(600);
    expect(first.batch.abandoned).toBe(true);
    expect((first.outcome.error as PublishError).unconfirmed).toEqual(['a']);
    expect(second.outcome.error).toBeUndefined();

    vi.advanceTimersByTime(400);
    expect((second.outcome.error as PublishError).message).toMatch(/no PUBACK within 1000 ms/);
    expect(third.outcome.resolved).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
