import { Buffer } from 'node:buffer';

import { describe, expect, it } from 'vitest';

import { decodeDeadLetter, toDeadLetterMessage } from '../dead-letter/dead-letter-message.js';
import { fromStructuredMessage, toStructuredMessage } from './structured-message.js';
import { decodeCloudEvent, encodeCloudEvent } from './wire-codec.js';

const record = {
  reason: 'retries-exhausted' as const,
  handler: 'kitchen.Oven',
  attempts: 3,
  error: { type: 'Error', message: 'too cold' },
  destination: 'cloudbus/com/x/oven/preheated',
  firstAttemptTime: '2026-01-01T00:00:00.000Z',
  time: '2026-01-01T00:00:01.000Z',
};

describe('structured envelope for MQTT 3.1.1', () => {
  it('leaves a structured event as it is', () => {
    const message = encodeCloudEvent({ specversion: '1.0', id: '1', source: '/s', type: 't', datacontenttype: 'application/json', data: { a: 1 } }, 'structured');
    expect(toStructuredMessage(message).toString()).toBe(Buffer.from(message.body).toString());
  });

  it('turns a binary dead letter into one JSON event whose failure record reads back', () => {
    const event = { specversion: '1.0', id: 'e-1', source: '/s', type: 'com.x.oven.preheated', datacontenttype: 'application/json', data: { ovenId: 'o-1' } } as const;
    const deadLetter = toDeadLetterMessage(encodeCloudEvent(event), event, record);
    const json = JSON.parse(toStructuredMessage(deadLetter).toString()) as Record<string, unknown>;
    expect(json).toMatchObject({ specversion: '1.0', id: 'e-1', data: { ovenId: 'o-1' }, deadletterreason: 'retries-exhausted', deadletterattempts: '3' });
    const back = fromStructuredMessage(toStructuredMessage(deadLetter))!;
    const decoded = decodeDeadLetter({ message: back, destination: record.destination });
    // The old name of `destination` is still filled in, for code that reads it.
    expect(decoded.record).toEqual({ ...record, source: record.destination });
    expect(decoded.cloudEvent).toMatchObject({ id: 'e-1', data: { ovenId: 'o-1' } });
  });

  it('keeps the exact bytes of input that was not a CloudEvent', () => {
    const raw = { headers: {}, contentType: 'application/cloudevents+json', body: Buffer.from('{not json') };
    const deadLetter = toDeadLetterMessage(raw, undefined, { ...record, reason: 'invalid', attempts: 0 });
    const back = fromStructuredMessage(toStructuredMessage(deadLetter))!;
    expect(Buffer.from(back.body).toString()).toBe('{not json');
    expect(back.contentType).toBe('application/cloudevents+json');
    expect(back.headers['deadletterreason']).toBe('invalid');
  });

  it('carries binary data as data_base64, byte for byte', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const event = { specversion: '1.0', id: 'b-1', source: '/s', type: 't', datacontenttype: 'application/octet-stream', data: bytes } as const;
    const structured = toStructuredMessage(encodeCloudEvent(event));
    const decoded = decodeCloudEvent({ headers: {}, contentType: 'application/cloudevents+json', body: structured });
    expect([...(decoded.data as Uint8Array)]).toEqual([...bytes]);
  });

  it('reads nothing from a payload that is not a JSON object', () => {
    expect(fromStructuredMessage(Buffer.from('TEMP=250C'))).toBeUndefined();
    expect(fromStructuredMessage(Buffer.from('[1]'))).toBeUndefined();
  });
});
