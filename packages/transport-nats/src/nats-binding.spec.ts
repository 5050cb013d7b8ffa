import { decodeCloudEvent, InvalidCloudEventError } from '@cloudbus/core';
import { MsgHdrsImpl, headers as natsHeaders } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';

import {
  decodeHeaderValue,
  encodeHeaderValue,
  encodePublishHeaders,
  INVALID_ENCODING_MARKER,
  readHeaderBlock,
  readWireMessage,
  writeHeaders,
} from './nats-binding.js';

describe('percent-encoding of attribute values', () => {
  it('leaves printable ASCII as it is, except space, double quote and percent', () => {
    expect(encodeHeaderValue('com.example/order:placed?x=1&y=(2)')).toBe('com.example/order:placed?x=1&y=(2)');
    expect(encodeHeaderValue('50% "off" now')).toBe('50%25%20%22off%22%20now');
  });

  it('encodes characters outside printable ASCII as the %XX of their UTF-8 bytes', () => {
    expect(encodeHeaderValue('größe ✓ 🍕')).toBe('gr%C3%B6%C3%9Fe%20%E2%9C%93%20%F0%9F%8D%95');
    expect(encodeHeaderValue('tab\there')).toBe('tab%09here');
  });

  it('decodes what it encodes, for any string', () => {
    for (const value of ['', 'plain', 'größe ✓ – "quoted" \\ 🍕', ' lead and trail ', '%41 is not A', '\u00a0nbsp']) {
      expect(decodeHeaderValue(encodeHeaderValue(value))).toBe(value);
    }
  });

  it('refuses a broken escape or bytes that are not UTF-8', () => {
    expect(decodeHeaderValue('100%')).toBeUndefined();
    expect(decodeHeaderValue('%ZZ')).toBeUndefined();
    expect(decodeHeaderValue('%C3')).toBeUndefined();
    expect(decodeHeaderValue('%FF%FE')).toBeUndefined();
  });
});

describe('mapping a wire message to NATS headers and back', () => {
  /** NATS headers holding these entries, set in this order. */
  const headersOf = (entries: Record<string, string>) => {
    const headers = natsHeaders();
    for (const [name, value] of Object.entries(entries)) headers.set(name, value);
    return headers;
  };

  it('writes attributes as ce- headers and the content type as Content-Type', () => {
    const headers = natsHeaders();
    writeHeaders({ headers: { id: 'e-1', note: 'größe' }, contentType: 'application/json; charset=utf-8', body: new Uint8Array() }, headers);
    expect(headers.get('ce-id')).toBe('e-1');
    expect(headers.get('ce-note')).toBe('gr%C3%B6%C3%9Fe');
    expect(headers.get('Content-Type')).toBe('application/json; charset=utf-8');
  });

  it('reads ce- headers in any case, drops the prefix and every other header', () => {
    const headers = headersOf({
      'CE-SpecVersion': '1.0',
      'ce-id': 'e-1',
      'Ce-Note': 'gr%C3%B6%C3%9Fe',
      'Nats-Msg-Id': 'e-1',
      'X-Trace': 'abc',
      'content-type': 'text/plain',
    });
    const message = readWireMessage(headers, new Uint8Array([1]));
    expect(message.headers).toEqual({ specversion: '1.0', id: 'e-1', note: 'größe' });
    expect(message.contentType).toBe('text/plain');
  });

  it('makes a message with a badly encoded attribute one that core refuses, keeping the raw value', () => {
    const headers = headersOf({ 'ce-specversion': '1.0', 'ce-id': 'e-1', 'ce-source': '/s', 'ce-type': 't', 'ce-subject': 'bad%ZZ' });
    const message = readWireMessage(headers, new Uint8Array());
    expect(message.headers['subject']).toBe('bad%ZZ');
    expect(message.headers[INVALID_ENCODING_MARKER]).toBe('subject');
    expect(() => decodeCloudEvent(message)).toThrow(InvalidCloudEventError);
  });

  it('reads a message without headers as one without attributes', () => {
    expect(readWireMessage(undefined, new Uint8Array([7]))).toEqual({ headers: {}, contentType: undefined, body: new Uint8Array([7]) });
  });
});

describe('the headers of a JetStream publish, encoded once', () => {
  const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

  it('carries the attributes, the content type, the message id and the expected stream, as nats-core would encode them', () => {
    const message = { headers: { specversion: '1.0', id: 'e-1', note: '50% größe' }, contentType: 'application/json', body: new Uint8Array() };
    const expected = new MsgHdrsImpl();
    writeHeaders(message, expected);
    expected.set('Nats-Msg-Id', 'e-1');
    expected.set('Nats-Expected-Stream', 'ORDERS');
    const encoded = encodePublishHeaders(message, 'e-1', 'ORDERS');
    expect(text(encoded.encode())).toBe(text(expected.encode()));
    expect(readWireMessage(MsgHdrsImpl.decode(encoded.encode()), message.body)).toEqual(message);
  });

  it('encodes what plain ASCII cannot carry the way nats-core does, and never lets a line break in the content type through', () => {
    const message = { headers: { id: 'e 1' }, contentType: ' text/plain; charset=utf-8 ', body: new Uint8Array() };
    const decoded = MsgHdrsImpl.decode(encodePublishHeaders(message, 'größe-1', 'ORDERS').encode());
    expect(decoded.get('Nats-Msg-Id')).toBe('größe-1');
    expect(decoded.get('Content-Type')).toBe('text/plain; charset=utf-8');
    expect(decoded.get('ce-id')).toBe('e%201');
    const evil = MsgHdrsImpl.decode(encodePublishHeaders({ ...message, contentType: 'text/plain\r\nX-Evil: 1' }, 'e-1', 'ORDERS').encode());
    expect(evil.has('X-Evil')).toBe(false);
    expect(evil.has('Content-Type')).toBe(false);
    expect(evil.get('ce-datacontenttype')).toBe('text/plain%0D%0AX-Evil:%201');
  });
});

describe('reading a delivery straight from its raw headers block', () => {
  const blocks = [
    'NATS/1.0\r\nce-specversion: 1.0\r\nce-id: e-1\r\nContent-Type: application/json\r\nNats-Msg-Id: e-1\r\n\r\n',
    'NATS/1.0\r\nCE-SpecVersion: 1.0\r\nCe-Note: gr%C3%B6%C3%9Fe\r\nX-Trace: abc\r\ncontent-type:  text/plain \r\n\r\n',
    'NATS/1.0\r\nce-id: first\r\nce-id: second\r\nCE-ID: other case\r\nce-subject: bad%ZZ\r\nce-x: 100%\r\n\r\n',
    'NATS/1.0\r\nContent-Type: a/b\r\ncontent-type: c/d\r\nce-empty:\r\nno colon line\r\nce-time: 2026-11-27T13:00:00Z\r\n\r\n',
    'NATS/1.0\r\n\r\n',
  ];

  it('reads the same message as nats-core\'s header parser followed by readWireMessage', () => {
    const body = new Uint8Array([1, 2]);
    for (const block of blocks) {
      const bytes = Buffer.from(block, 'utf8');
      expect(readHeaderBlock(bytes, body), block).toEqual(readWireMessage(MsgHdrsImpl.decode(bytes), body));
    }
  });
});

describe('datacontenttype and quoted values (NATS binding 3.1.3.1, RFC 7230 3.2.6)', () => {
  const block = (lines: string[]) => Buffer.from(`NATS/1.0\r\n${lines.join('\r\n')}\r\n\r\n`);
  const body = Buffer.from('{"a":1}');

  it('writes ce-datacontenttype next to Content-Type in binary mode, and only Content-Type in structured mode', () => {
    const binary = new TextDecoder().decode(encodePublishHeaders({ headers: { specversion: '1.0' }, contentType: 'application/json', body }, 'id-1', 'S').bytes);
    expect(binary).toContain('ce-datacontenttype: application/json\r\n');
    expect(binary).toContain('Content-Type: application/json\r\n');
    const structured = new TextDecoder().decode(
      encodePublishHeaders({ headers: {}, contentType: 'application/cloudevents+json; charset=utf-8', body }, 'id-2', 'S').bytes,
    );
    expect(structured).not.toContain('ce-datacontenttype');
    const headers = new MsgHdrsImpl();
    writeHeaders({ headers: { note: 'x' }, contentType: 'text/plain; charset=utf-8', body }, headers);
    expect(headers.get('ce-datacontenttype')).toBe('text/plain;%20charset=utf-8');
  });

  it('writes a content type a header cannot carry as it is (read from a percent-encoded ce-datacontenttype) in ce-datacontenttype only', () => {
    const received = readHeaderBlock(block(['ce-specversion: 1.0', 'ce-datacontenttype: application/json%0Aforged: yes']), body);
    expect(received.contentType).toBe('application/json\nforged: yes');
    const headers = new MsgHdrsImpl();
    expect(() => writeHeaders(received, headers)).not.toThrow();
    expect(headers.get('ce-datacontenttype')).toBe('application/json%0Aforged:%20yes');
    expect(headers.has('Content-Type')).toBe(false);
    expect(readWireMessage(headers, body).contentType).toBe('application/json\nforged: yes');
  });

  it('reads ce-datacontenttype alone, and over Content-Type when both are there, in both readers', () => {
    for (const read of [
      (lines: string[]) => readHeaderBlock(block(lines), body),
      (lines: string[]) => {
        const headers = natsHeaders();
        for (const line of lines) headers.append(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim());
        return readWireMessage(headers, body);
      },
    ]) {
      const alone = read(['ce-specversion: 1.0', 'ce-datacontenttype: application/json; charset=utf-8']);
      expect(alone.contentType).toBe('application/json; charset=utf-8');
      expect(alone.headers).toEqual({ specversion: '1.0' });
      expect(read(['Content-Type: text/plain', 'ce-datacontenttype: application/json']).contentType).toBe('application/json');
      expect(read(['ce-datacontenttype: application/json', 'Content-Type: text/plain']).contentType).toBe('application/json');
      expect(read(['Content-Type: application/cloudevents+json', 'ce-datacontenttype: application/json']).contentType).toBe('application/cloudevents+json');
    }
  });

  it('accepts double-quoted values with backslash escapes, and leaves anything else as it is', () => {
    expect(decodeHeaderValue('"/older/producer"')).toBe('/older/producer');
    expect(decodeHeaderValue('"a \\"quoted\\" subject \\\\ done"')).toBe('a "quoted" subject \\ done');
    expect(decodeHeaderValue('"50%25 off"')).toBe('50% off');
    expect(decodeHeaderValue('""')).toBe('');
    expect(decodeHeaderValue('"unbalanced')).toBe('"unbalanced');
    expect(decodeHeaderValue('"a"b"')).toBe('"a"b"');
    expect(decodeHeaderValue('"ends in \\"')).toBe('"ends in \\"');
    const message = readHeaderBlock(block(['ce-specversion: "1.0"', 'ce-id: "q-1"', 'Content-Type: "application/json"']), body);
    expect(message).toMatchObject({ headers: { specversion: '1.0', id: 'q-1' }, contentType: 'application/json' });
  });
});
