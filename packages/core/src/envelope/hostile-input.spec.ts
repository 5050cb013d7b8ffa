import { Buffer } from 'node:buffer';

import { describe, expect, it } from 'vitest';

import { EventBus } from '../bus/event-bus.js';
import { silentLogger, type Logger } from '../logger.js';
import { decodeDeadLetter, headerBytes, toDeadLetterMessage } from '../dead-letter/dead-letter-message.js';
import { DeadLetterExtensions, readDeadLetterRecord, type DeadLetterRecord } from '../dead-letter/dead-letter-record.js';
import { InvalidCloudEventError, ReceiveLimitError } from '../errors.js';
import { EventHandler } from '../handlers/event-handler.js';
import { Ping } from '../spec-support/example-events.js';
import { BookkeepingReader, MAX_BOOKKEEPING_FUTURE_MS } from '../transport/bookkeeping.js';
import { SETTLED, type Delivery, type Subscription, type SubscriptionSpec, type Transport } from '../transport/transport.js';
import { decodeCloudEvent, DEFAULT_RECEIVE_LIMITS, encodeCloudEvent, STRUCTURED_CONTENT_TYPE, type WireMessage } from './wire-codec.js';

const binary = (headers: Record<string, string>, body = '{}', contentType = 'application/json'): WireMessage => ({
  headers: { specversion: '1.0', id: 'x', source: '/s', type: 't', ...headers },
  contentType,
  body: Buffer.from(body),
});

function refusal(message: WireMessage, limits = DEFAULT_RECEIVE_LIMITS): InvalidCloudEventError {
  try {
    decodeCloudEvent(message, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCloudEventError);
    return error as InvalidCloudEventError;
  }
  throw new Error('expected the message to be refused');
}

describe('forbidden JSON keys (finding 4)', () => {
  it('refuses __proto__, constructor and prototype at any depth, however escaped', () => {
    // The input of the finding: no "proto" in the text, the key escaped.
    expect(refusal(binary({}, '{"inner":{"__pr\\u006fto__":{"isAdmin":true}}}')).message).toMatch(/'__proto__' key/);
    expect(refusal(binary({}, '{"a":[{"b":{"constructor":{"prototype":{"x":1}}}}]}')).message).toMatch(/'constructor' key/);
    expect(refusal(binary({}, '{"a":{"\\u0063onstructor":1}}')).message).toMatch(/'constructor' key/);
    expect(refusal(binary({}, '{"a":{"pr\\u006ftotype":1}}')).message).toMatch(/'prototype' key/);
    const structured = { specversion: '1.0', id: 'x', source: '/s', type: 't', data: { deep: [{ ['__proto__']: 1 }] } };
    const text = JSON.stringify(structured).replace('"__proto__"', '"\\u005f\\u005fproto\\u005f\\u005f"');
    expect(refusal({ headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: Buffer.from(text) }).message).toMatch(/'__proto__' key/);
  });

  it('accepts the words as values and inside longer keys', () => {
    const event = decodeCloudEvent(binary({}, '{"note":"constructor of prototypes","protocol":"\\u0068ttps","__proto":1}'));
    expect(event.data).toEqual({ note: 'constructor of prototypes', protocol: 'https', __proto: 1 });
  });
});

describe('receive limits (finding 5)', () => {
  const extensions = (count: number): Record<string, string> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`ext${i}`, 'v']));

  it('refuses 10,000 extensions, naming the limit', () => {
    const error = refusal(binary(extensions(10_000)));
    expect(error).toBeInstanceOf(ReceiveLimitError);
    expect((error as ReceiveLimitError).limit).toBe('maxExtensions');
  });

  it('counts extensions in structured mode too, and takes configured limits', () => {
    const event = { specversion: '1.0', id: 'x', source: '/s', type: 't', ...extensions(5) };
    const message: WireMessage = { headers: {}, contentType: STRUCTURED_CONTENT_TYPE, body: Buffer.from(JSON.stringify(event)) };
    expect(decodeCloudEvent(message).id).toBe('x');
    expect((refusal(message, { ...DEFAULT_RECEIVE_LIMITS, maxExtensions: 4 }) as ReceiveLimitError).limit).toBe('maxExtensions');
  });

  it('refuses too many header bytes, too long an attribute, too deep a JSON', () => {
    expect((refusal(binary({ big: 'x'.repeat(40_000) })) as ReceiveLimitError).limit).toBe('maxHeaderBytes');
    expect((refusal(binary({ subject: 'x'.repeat(5_000) })) as ReceiveLimitError).limit).toBe('maxAttributeLength');
    const deep = `${'['.repeat(10)}1${']'.repeat(10)}`;
    expect(decodeCloudEvent(binary({}, deep)).data).toBeDefined();
    expect((refusal(binary({}, deep), { ...DEFAULT_RECEIVE_LIMITS, maxJsonDepth: 5 }) as ReceiveLimitError).limit).toBe('maxJsonDepth');
  });
});

describe('BookkeepingReader', () => {
  it('ignores malformed and out-of-range values and notes each', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const read = new BookkeepingReader(now);
    expect(read.time('x-cloudbus-first-attempt', 1e300)).toBeUndefined();
    expect(read.time('first', '9000000000000000')).toBeUndefined();
    expect(read.time('first', now + MAX_BOOKKEEPING_FUTURE_MS + 1)).toBeUndefined();
    expect(read.time('first', -1)).toBeUndefined();
    expect(read.attempt('attempt', 0)).toBeUndefined();
    expect(read.attempt('attempt', '1e3')).toBeUndefined();
    expect(read.attempt('attempt', Number.NaN)).toBeUndefined();
    expect(read.name('x-cloudbus-destination', 'a\nb')).toBeUndefined();
    expect(read.name('destination', '\ud800')).toBeUndefined();
    expect(read.notes.length).toBe(8);
    expect(read.notes[0]).toMatch(/^x-cloudbus-first-attempt: .*\(/);
    expect(read.time('first', now - 5)).toBe(now - 5);
    expect(read.time('first', String(now))).toBe(now);
    expect(read.attempt('attempt', '3')).toBe(3);
    expect(read.name('destination', 'orders.placed')).toBe('orders.placed');
    expect(read.time('first', undefined)).toBeUndefined();
    expect(read.notes.length).toBe(8);
  });
});

describe('trimmed dead letters (finding 3, core part)', () => {
  const record: DeadLetterRecord = {
    reason: 'invalid',
    handler: 'svc.Handler',
    attempts: 0,
    error: { type: 'ReceiveLimitError', message: 'too big' },
    destination: 'orders',
    firstAttemptTime: '2026-01-01T00:00:00.000Z',
    time: '2026-01-01T00:00:01.000Z',
  };

  it('keeps the whole original when it fits', () => {
    const original = binary({ small: 'v' });
    const letter = toDeadLetterMessage(original, undefined, record, { maxMessageBytes: 1_000_000, maxHeaderBytes: 60_000 });
    expect(letter.headers['small']).toBe('v');
    expect(letter.headers[DeadLetterExtensions.trimmed]).toBeUndefined();
  });

  it('cuts the largest headers first, keeps the body and the record, and names what was cut', () => {
    const original = binary({ big: 'x'.repeat(50_000), other: 'y'.repeat(5_000), small: 'v' }, '{"keep":true}');
    const letter = toDeadLetterMessage(original, undefined, record, { maxMessageBytes: 1_000_000, maxHeaderBytes: 40_000 });
    expect(headerBytes(letter)).toBeLessThanOrEqual(40_000);
    expect('big' in letter.headers).toBe(false);
    expect(letter.headers['other']?.length).toBe(5_000);
    expect(Buffer.from(letter.body).toString()).toBe('{"keep":true}');
    const read = readDeadLetterRecord(letter.headers)!;
    expect(read.reason).toBe('invalid');
    expect(read.trimmed).toMatch(/^headers big \(50003 bytes\)$/);
  });

  it('reads back a dead letter whose headers are over the receive limits, its event and record intact', () => {
    const event = { specversion: '1.0', id: 'big', source: '/s', type: 't', note: 'n'.repeat(3_000), ...Object.fromEntries(Array.from({ length: 99 }, (_, i) => [`x${i}`, 'v'.repeat(300)])) };
    const original = encodeCloudEvent(event as never);
    const letter = decodeDeadLetter({ message: toDeadLetterMessage(original, undefined, record), destination: 'orders' });
    expect(letter.cloudEvent?.id).toBe('big');
    expect(letter.record?.reason).toBe('invalid');
  });

  it('drops the body too when only that makes it fit', () => {
    const original = binary({}, JSON.stringify({ blob: 'z'.repeat(20_000) }));
    const letter = toDeadLetterMessage(original, undefined, record, { maxMessageBytes: 10_000 });
    expect(letter.body.byteLength).toBe(0);
    expect(readDeadLetterRecord(letter.headers)!.trimmed).toBe('body (20011 bytes)');
    expect(letter.headers['id']).toBe('x');
  });
});

/** A transport that hands the test the bus's delivery callback, to feed it deliveries a broker could send. */
class HandOverTransport implements Transport {
  readonly name = 'hand-over';
  readonly capabilities = { maxMessageBytes: 1_000_000, maxHeaderBytes: 60_000, binaryMode: true, nativeDelayedRedelivery: true, publishDeduplication: false, ordered: true, durable: true };
  onDelivery: ((delivery: Delivery) => void) | undefined;
  async connect(): Promise<void> {}
  async publish(): Promise<void> {}
  async subscribe(_spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    this.onDelivery = onDelivery;
    return { stop: async () => {}, close: async () => {} };
  }
  async close(): Promise<void> {}
}

class Outcome implements Delivery {
  settledWith: string | undefined;
  deadLetterMessage: WireMessage | undefined;
  constructor(
    readonly message: WireMessage,
    readonly attempt: number,
    readonly firstAttemptAt: number,
    readonly destination: string,
    readonly ignored?: readonly string[],
  ) {}
  ack(): Promise<void> {
    this.settledWith = 'ack';
    return SETTLED;
  }
  nack(): Promise<void> {
    this.settledWith = 'nack';
    return SETTLED;
  }
  deadLetter(message: WireMessage): Promise<void> {
    this.settledWith = 'dead-letter';
    this.deadLetterMessage = message;
    return SETTLED;
  }
}

describe('the decode-and-settle path is total (findings 1 and 2, core part)', () => {
  const handled: number[] = [];
  @EventHandler(Ping)
  class PingHandler {
    handle(event: Ping): void {
      handled.push(event.n);
    }
  }

  it('dead-letters poison whose bookkeeping is out of range, noting it, and never throws', async () => {
    const transport = new HandOverTransport();
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (message) => errors.push(message) };
    const bus = new EventBus({ service: 'hostile', handlers: [PingHandler], transport, logger });
    await bus.start();
    const poison = { headers: {}, contentType: 'text/plain', body: Buffer.from('not an event') };
    // Out of Date's range, and a destination no header can carry, as the transports could pass them before the guard.
    const deliveries = [
      new Outcome(poison, 1, 1e300, 'orders'),
      new Outcome(poison, 1, Number.NaN, 'orders\nforged: yes'),
      new Outcome(poison, 1, Date.now(), 'orders', ['x-cloudbus-first-attempt: not a time in ms since the epoch in range ("1e+300")']),
    ];
    for (const delivery of deliveries) expect(() => transport.onDelivery!(delivery)).not.toThrow();
    const valid = encodeCloudEvent({ specversion: '1.0', id: 'p-1', source: '/t', type: 'com.example.ping', datacontenttype: 'application/json', data: { n: 7 } });
    const next = new Outcome(valid, 1, Date.now(), 'orders');
    transport.onDelivery!(next);
    await new Promise((resolve) => setImmediate(resolve));
    expect(deliveries.map((delivery) => delivery.settledWith)).toEqual(['dead-letter', 'dead-letter', 'dead-letter']);
    expect(next.settledWith).toBe('ack');
    expect(handled).toEqual([7]);
    const records = deliveries.map((delivery) => readDeadLetterRecord(delivery.deadLetterMessage!.headers)!);
    expect(records[0]!.reason).toBe('invalid');
    expect(Number.isNaN(Date.parse(records[0]!.firstAttemptTime))).toBe(false);
    expect(records[1]!.source).toBe('orders forged: yes');
    expect(records[2]!.ignored).toMatch(/^x-cloudbus-first-attempt: /);
    expect(errors).toEqual([]);
    await bus.stop();
  });

  it('names the receive limit a message broke in its dead-letter record', async () => {
    const transport = new HandOverTransport();
    const bus = new EventBus({ service: 'limits', handlers: [PingHandler], transport, logger: silentLogger, receiveLimits: { maxExtensions: 2 } });
    await bus.start();
    const message = encodeCloudEvent({ specversion: '1.0', id: 'p-2', source: '/t', type: 'com.example.ping', a: 'a', b: 'b', c: 'c', datacontenttype: 'application/json', data: { n: 1 } });
    const delivery = new Outcome(message, 1, Date.now(), 'orders');
    transport.onDelivery!(delivery);
    const record = readDeadLetterRecord(delivery.deadLetterMessage!.headers)!;
    expect(record.reason).toBe('invalid');
    expect(record.limit).toBe('maxExtensions');
    expect(record.error.type).toBe('ReceiveLimitError');
    await bus.stop();
  });
});
