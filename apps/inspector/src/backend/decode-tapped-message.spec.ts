import { Buffer } from 'node:buffer';

import { describe, expect, it } from 'vitest';

import { decodeTappedMessage } from './decode-tapped-message.js';
import { tapped, tappedTelemetry } from './test-messages.js';

describe('decoding what a tap reads', () => {
  it('reads a binary-mode event: attributes, correlation and causation, a data preview', () => {
    const captured = decodeTappedMessage(
      tapped({ id: 'e-1', type: 'com.mariopizzeria.order.placed', subject: 'o-1', correlationid: 'c-1', causationid: 'e-0', data: { orderId: 'o-1' } }),
      7,
      'rabbit',
      1_000,
    );
    expect(captured.summary).toMatchObject({ seq: 7, profileId: 'rabbit', kind: 'event', id: 'e-1', type: 'com.mariopizzeria.order.placed', subject: 'o-1', correlationId: 'c-1', causationId: 'e-0' });
    expect(captured.summary.preview).toContain('o-1');
    expect(captured.cloudEvent?.data).toEqual({ orderId: 'o-1' });
  });

  it('reads a structured-mode event the same way', () => {
    const captured = decodeTappedMessage(tapped({ id: 'e-2', type: 'com.example.x', correlationid: 'c-2', data: [1, 2] }, { mode: 'structured' }), 0, 'p', 0);
    expect(captured.summary).toMatchObject({ kind: 'event', id: 'e-2', correlationId: 'c-2' });
    expect(captured.cloudEvent?.data).toEqual([1, 2]);
  });

  it('reads a telemetry batch into its handler records', () => {
    const captured = decodeTappedMessage(
      tappedTelemetry('t-1', [{ kind: 'handler-succeeded', time: 5, service: 'shop', eventId: 'e-1', handler: 'shop.Kitchen', attempt: 1, durationMs: 3 }]),
      0,
      'p',
      0,
    );
    expect(captured.summary.kind).toBe('telemetry');
    expect(captured.telemetry).toEqual([{ kind: 'handler-succeeded', time: 5, service: 'shop', eventId: 'e-1', handler: 'shop.Kitchen', attempt: 1, durationMs: 3 }]);
  });

  it('reads a dead letter with its handler, reason and original destination', () => {
    const captured = decodeTappedMessage(
      tapped(
        { id: 'e-3', type: 'com.example.sms', deadletterreason: 'retries-exhausted', deadletterhandler: 'shop.Sms', deadlettersource: 'com.example.sms', deadletterattempts: '3', deadlettererror: 'down' },
        { deadLetter: true },
      ),
      0,
      'p',
      0,
    );
    expect(captured.summary).toMatchObject({ kind: 'dead-letter', deadLetterHandler: 'shop.Sms', deadLetterReason: 'retries-exhausted' });
    expect(captured.originalDestination).toBe('com.example.sms');
  });

  it('keeps a message that is not a CloudEvent, with the reason, instead of throwing', () => {
    const body = Buffer.from('hello');
    const captured = decodeTappedMessage(
      { message: { headers: {}, contentType: 'text/plain', body }, wire: { destination: 'x', headers: {}, contentType: 'text/plain' }, deadLetter: false },
      0,
      'p',
      0,
    );
    expect(captured.summary.kind).toBe('invalid');
    expect(captured.error).toMatch(/specversion/);
  });
});
