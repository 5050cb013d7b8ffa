import { describe, expect, it } from 'vitest';

import { decodeTappedMessage } from './decode-tapped-message.js';
import { readTelemetryRecord } from './read-telemetry-record.js';
import { tappedTelemetry } from './test-messages.js';

const good = { kind: 'handler-failed', time: 1_700_000_000_000, service: 'shop', eventId: 'e-1', handler: 'shop.Sms', attempt: 2, durationMs: 3.5, willRetry: true, error: { type: 'Error', message: 'down' } };

describe('reading telemetry records off the wire', () => {
  it('keeps a well-formed record, known fields only', () => {
    expect(readTelemetryRecord({ ...good, extra: 'x' })).toEqual(good);
  });

  it.each([
    ['a numeric handler', { handler: 42 }],
    ['an unknown kind', { kind: 'exploded' }],
    ['a time no Date can hold', { time: 1e300 }],
    ['a NaN time', { time: Number.NaN }],
    ['a negative time', { time: -1 }],
    ['a time as text', { time: '2024-01-01' }],
    ['a non-text service', { service: { name: 'shop' } }],
    ['a fractional attempt', { attempt: 1.5 }],
    ['an infinite duration', { durationMs: Number.POSITIVE_INFINITY }],
    ['a willRetry that is not a boolean', { willRetry: 'yes' }],
    ['an error without a message', { error: { type: 'Error' } }],
    ['a lone surrogate in a text field', { correlationId: '\ud800' }],
    ['a huge text field', { subject: 'x'.repeat(5_000) }],
    ['a saga state that is not text', { state: { paid: true } }],
    ['a saga state over 4,096 characters', { state: 'x'.repeat(4_097) }],
  ])('refuses a record with %s', (_what, change) => {
    expect(readTelemetryRecord({ ...good, ...change })).toBeUndefined();
  });

  it('keeps the state of a saga record', () => {
    const saga = { kind: 'saga', time: 1, service: 'shop', saga: 'OrderLifecycle', key: 'o-1', action: 'updated', handler: 'shop.OrderLifecycle.placed', state: '{"paid":false}' };
    expect(readTelemetryRecord(saga)).toEqual(saga);
  });

  it('keeps the valid records of a batch and says how many it ignored', () => {
    const bad = { ...good, handler: 7 } as unknown as typeof good;
    const captured = decodeTappedMessage(tappedTelemetry('t-1', [good as never, bad as never]), 0, 'p', 0);
    expect(captured.telemetry).toEqual([good]);
    expect(captured.error).toMatch(/1 telemetry record/);
  });
});
