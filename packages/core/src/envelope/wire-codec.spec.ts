import { describe, expect, it } from 'vitest';

import { InvalidCloudEventError } from '../errors.js';
import type { CloudEvent } from './cloud-event.js';
import { decodeCloudEvent, encodeCloudEvent, STRUCTURED_CONTENT_TYPE, toBinaryMode, withHeaders, type WireMessage } from './wire-codec.js';

const event: CloudEvent = {
  specversion: '1.0',
  id: 'A234-1234-1234',
  source: '/shop',
  type: 'com.mariopizzeria.order.placed',
  time: '2026-04-05T17:31:00.123Z',
  subject: 'o-1',
  datacontenttype: 'application/json',
  dataschema: 'https://mariopizzeria.example/schemas/order-placed.json',
  correlationid: 'corr-1',
  priority: 3,
  rush: true,
  data: { orderId: 'o-1', total: '31.98', items: [{ pizza: 'Margherita', size: 'large', quantity: 2 }] },
};

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const structured = (value: unknown): WireMessage => ({ headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: json(value) });
const binary = (headers: Record<string, string>, body = '{}', contentType = 'application/json'): WireMessage => ({
  headers: { specversion: '1.0', id: 'x', source: '/s', type: 't', ...headers },
  contentType,
  body: Buffer.from(body),
});

function invalid(message: WireMessage): InvalidCloudEventError {
  try {
    decodeCloudEvent(message);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCloudEventError);
    return error as InvalidCloudEventError;
  }
  throw new Error('expected the message to be rejected as invalid');
}

describe('binary content mode', () => {
  it('puts attributes in headers and data in the body, and reads them back', () => {
    const wire = encodeCloudEvent(event, 'binary');
    expect(wire.contentType).toBe('application/json');
    expect(wire.headers).toMatchObject({ id: event.id, type: event.type, subject: 'o-1', priority: '3', rush: 'true' });
    expect(wire.headers).not.toHaveProperty('datacontenttype');
    expect(JSON.parse(Buffer.from(wire.body).toString())).toEqual(event.data);
    const decoded = decodeCloudEvent(wire);
    expect(decoded).toEqual({ ...event, priority: '3', rush: 'true' });
  });

  it('keeps binary data as bytes and text as a string', () => {
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    const decoded = decodeCloudEvent(encodeCloudEvent({ ...event, datacontenttype: 'application/octet-stream', data: bytes }));
    expect([...(decoded.data as Uint8Array)]).toEqual([...bytes]);
    const text = decodeCloudEvent(encodeCloudEvent({ ...event, datacontenttype: 'text/plain; charset=utf-8', data: 'Größe ✓' }));
    expect(text.data).toBe('Größe ✓');
  });

  it('reads an event without data', () => {
    const { data: _data, datacontenttype: _type, ...noData } = event;
    expect(decodeCloudEvent(encodeCloudEvent(noData)).data).toBeUndefined();
  });
});

describe('structured content mode', () => {
  it('puts the whole event as JSON in the body, binary data as data_base64', () => {
    const wire = encodeCloudEvent({ ...event, datacontenttype: 'application/octet-stream', data: new Uint8Array([1, 2, 3]) }, 'structured');
    expect(wire.contentType).toBe(STRUCTURED_CONTENT_TYPE);
    const body = JSON.parse(Buffer.from(wire.body).toString()) as Record<string, unknown>;
    expect(body['data_base64']).toBe('AQID');
    expect(body).not.toHaveProperty('data');
    expect([...(decodeCloudEvent(wire).data as Uint8Array)]).toEqual([1, 2, 3]);
  });

  it('round-trips typed extensions as their JSON types', () => {
    expect(decodeCloudEvent(encodeCloudEvent(event, 'structured'))).toEqual(event);
  });

  it('converts to binary mode for a dead letter, and adds headers without touching the body', () => {
    const wire = encodeCloudEvent(event, 'structured');
    const asBinary = toBinaryMode(wire, decodeCloudEvent(wire));
    expect(asBinary.contentType).toBe('application/json');
    const withRecord = withHeaders(asBinary, { deadletterreason: 'invalid', deadletterattempts: 0 });
    expect(withRecord.body).toBe(asBinary.body);
    expect(decodeCloudEvent(withRecord)).toMatchObject({ id: event.id, deadletterreason: 'invalid', deadletterattempts: '0' });
  });
});

describe('invalid input is rejected with the attribute at fault', () => {
  it.each([
    ['bad JSON', { headers: {}, contentType: 'application/cloudevents+json', body: Buffer.from('{"specversion":') }, 'data'],
    ['a JSON array', structured([1, 2]), undefined],
    ['no specversion, no structured content type', { headers: { id: 'x' }, contentType: 'application/json', body: Buffer.from('{}') }, 'specversion'],
    ['specversion 0.3', structured({ ...event, specversion: '0.3' }), 'specversion'],
    ['specversion 2.0', structured({ ...event, specversion: '2.0' }), 'specversion'],
    ['a missing id', structured({ ...event, id: undefined }), 'id'],
    ['an empty source', structured({ ...event, source: '' }), 'source'],
    ['a missing type', binary({ type: '' }), 'type'],
    ['an upper-case attribute name', structured({ ...event, CorrelationId: 'x' }), 'CorrelationId'],
    ['a dash in an attribute name', binary({ 'trace-id': 'x' }), 'trace-id'],
    ['a bad time', structured({ ...event, time: '5 April 2026' }), 'time'],
    ['an impossible time', structured({ ...event, time: '2026-13-45T25:61:00Z' }), 'time'],
    ['both data and data_base64', structured({ ...event, data_base64: 'AQID' }), 'data_base64'],
    ['bad base64', structured({ ...event, data: undefined, data_base64: 'not*base64!' }), 'data_base64'],
    ['control characters in a header value', binary({ subject: 'o-1\r\nX-Injected: 1' }), 'subject'],
    ['an unpaired surrogate', binary({ subject: 'bad \ud800 text' }), 'subject'],
    ['an object as extension value', structured({ ...event, extra: { nested: true } }), 'extra'],
    ['a fractional extension value', structured({ ...event, ratio: 0.5 }), 'ratio'],
    ['a bad datacontenttype', binary({}, '{}', 'not a media type'), 'datacontenttype'],
    ['a relative dataschema', structured({ ...event, dataschema: 'schemas/x.json' }), 'dataschema'],
    ['an empty subject', structured({ ...event, subject: '' }), 'subject'],
    ['a batch', { headers: {}, contentType: 'application/cloudevents-batch+json', body: json([event]) }, undefined],
  ] as const)('%s', (_name, message, attribute) => {
    expect(invalid(message as WireMessage).attribute).toBe(attribute);
  });

  it('rejects invalid UTF-8 in a structured event and in JSON data', () => {
    const bad = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    expect(invalid({ headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: bad }).message).toMatch(/UTF-8/);
    expect(invalid({ ...binary({}), body: bad }).message).toMatch(/UTF-8/);
  });

  it('refuses hostile JSON: deep nesting, and __proto__ keys at any depth (escaped too)', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    expect(invalid(binary({}, deep)).message).toMatch(/nests deeper than 64 levels/);
    expect(invalid(structured({ ...event, data: JSON.parse(`{"a":${'['.repeat(100)}${']'.repeat(100)}}`) as unknown })).message).toMatch(/nests deeper/);
    expect(invalid(binary({}, '{"order":{"items":[{"__proto__":{"admin":true}}]}}')).message).toMatch(/'__proto__' key/);
    expect(invalid(binary({}, '{"a":{"\\u005f_proto__":{"admin":true}}}')).message).toMatch(/'__proto__' key/);
    // Brackets inside strings do not count as nesting, and ordinary data passes.
    const text = JSON.stringify({ note: '['.repeat(500), nested: [[[[1]]]], protocol: 'https' });
    expect(decodeCloudEvent(binary({}, text)).data).toEqual(JSON.parse(text));
  });

  it('accepts JSON nested exactly 64 levels deep and refuses 65, objects and arrays mixed', () => {
    // Depth n: alternately an object {"k": ...} and an array [...], with padding so the text is long.
    const nested = (depth: number): string => {
      let text = '"' + 'x'.repeat(200) + '"';
      for (let level = depth; level > 0; level--) text = level % 2 === 0 ? `[${text}]` : `{"k":${text}}`;
      return text;
    };
    expect(decodeCloudEvent(binary({}, nested(64))).data).toEqual(JSON.parse(nested(64)));
    expect(invalid(binary({}, nested(65))).message).toMatch(/nests deeper than 64 levels/);
  });

  it('rejects JSON data that does not parse in binary mode', () => {
    expect(invalid(binary({}, '{"orderId":')).attribute).toBe('data');
  });

  it('keeps hostile strings short and escaped in its messages', () => {
    const error = invalid(structured({ ...event, specversion: `9${'\u0007'.repeat(500)}` }));
    expect(error.message.length).toBeLessThan(200);
    expect(error.message).not.toContain('\u0007');
  });
});
