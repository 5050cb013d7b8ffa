import { Buffer } from 'node:buffer';

import { decodeDeadLetter, encodeCloudEvent, STRUCTURED_CONTENT_TYPE } from '@cloudbus/core';
import { toDeadLetterMessage } from '@cloudbus/core/transport';
import { describe, expect, it } from 'vitest';

import { fromMqttMessage, fromStoredMqttMessage, toMqttPayload, toMqttProperties } from './mqtt-binding.js';

const event = { specversion: '1.0', id: 'e-1', source: '/s', type: 'com.x.oven.preheated', datacontenttype: 'application/json', data: { ovenId: 'o-1' } } as const;

describe('CloudEvents MQTT binding', () => {
  it('sends binary mode on MQTT 5 as user properties and Content Type, the data as the payload', () => {
    const message = encodeCloudEvent(event, 'binary');
    expect(toMqttProperties(message)).toEqual({ userProperties: message.headers, contentType: 'application/json' });
    expect(toMqttPayload(message, 5).toString()).toBe('{"ovenId":"o-1"}');
  });

  it('sends structured mode on MQTT 5 with only a Content Type, and nothing but the payload on MQTT 3.1.1', () => {
    const message = encodeCloudEvent(event, 'structured');
    expect(toMqttProperties(message)).toEqual({ contentType: STRUCTURED_CONTENT_TYPE });
    expect(toMqttProperties({ headers: {}, body: new Uint8Array(0) })).toBeUndefined();
    expect(toMqttPayload(message, 4).toString()).toBe(Buffer.from(message.body).toString());
  });

  it('turns a binary dead letter into one structured payload on MQTT 3.1.1, whose record reads back from the retained message', () => {
    const record = { reason: 'invalid' as const, handler: 'kitchen.Oven', attempts: 0, error: { type: 'Error', message: 'bad' }, destination: 'cloudbus/a', firstAttemptTime: '2026-01-01T00:00:00.000Z', time: '2026-01-01T00:00:01.000Z' };
    const deadLetter = toDeadLetterMessage(encodeCloudEvent(event), event, record);
    const payload = toMqttPayload(deadLetter, 4);
    expect(JSON.parse(payload.toString())).toMatchObject({ id: 'e-1', deadletterreason: 'invalid' });
    const stored = fromStoredMqttMessage(payload, undefined, 4);
    expect(decodeDeadLetter({ message: stored, destination: record.destination }).record).toEqual({ ...record, source: record.destination });
    expect(fromStoredMqttMessage(Buffer.from('TEMP=250C'), undefined, 4)).toEqual({ headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: Buffer.from('TEMP=250C') });
  });

  it('reads a message received on MQTT 5: user properties as headers (first of a repeated one), no properties meaning structured mode', () => {
    const body = Buffer.from('{}');
    expect(fromMqttMessage(body, { userProperties: { type: ['a', 'b'], id: '1' }, contentType: 'application/json' }, 5)).toEqual({ headers: { type: 'a', id: '1' }, contentType: 'application/json', body });
    expect(fromMqttMessage(body, undefined, 5)).toEqual({ headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body });
    expect(fromMqttMessage(body, { userProperties: { type: 'a' } }, 5).contentType).toBeUndefined();
    expect(fromMqttMessage(body, { userProperties: { type: 'a' } }, 4)).toEqual({ headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body });
  });

  it('reads a stored message on MQTT 5 as it is: repeated user properties joined, no Content Type added', () => {
    const body = Buffer.from('x');
    expect(fromStoredMqttMessage(body, { userProperties: { a: ['1', '2'] } }, 5)).toEqual({ headers: { a: '1,2' }, contentType: undefined, body });
  });
});
