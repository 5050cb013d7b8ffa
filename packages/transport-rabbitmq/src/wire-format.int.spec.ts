import { Buffer } from 'node:buffer';

import { EventBus, EventHandler, EventType, eventBrand, retry, silentLogger, type CloudEvent, type ContentMode, type EventClass, type EventContext, type Logger } from '@cloudbus/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { routingKeyOf } from './routing-key.js';
import { RabbitMqFixture, rabbitMqUrl, until as untilTrue } from './testing/rabbitmq-fixture.js';

const url = rabbitMqUrl;

describe.skipIf(!url)('rabbitmq wire format (CloudEvents AMQP binding)', () => {
  const fixture = new RabbitMqFixture('cbw');
  const { run, admin } = fixture;
  const options = fixture.base;
  let sequence = 0;

  function defineEvent() {
    const type = `dev.cloudbus.wire.${run}.e${++sequence}.order.placed`;
    class OrderPlaced {
      declare readonly [eventBrand]: string;
      constructor(
        readonly orderId: string,
        readonly total: string,
      ) {}
    }
    EventType(type, { subject: (e: OrderPlaced) => e.orderId })(OrderPlaced);
    return { type, OrderPlaced, service: `${run}-s${sequence}` };
  }

  interface Seen {
    readonly cloudEvent: CloudEvent;
    readonly attempt: number;
  }

  function recordingHandler<T extends object>(eventClass: EventClass<T>, seen: Seen[], behaviour?: (context: EventContext) => void, retryDelayMs = 50) {
    class Recording {
      handle(_event: T, context: EventContext): void {
        seen.push({ cloudEvent: context.cloudEvent, attempt: context.attempt });
        behaviour?.(context);
      }
    }
    EventHandler(eventClass, { name: 'Recording', retry: retry.fixed({ attempts: 2, delayMs: retryDelayMs }) })(Recording);
    return Recording;
  }

  async function startBus(service: string, handlers: (new () => object)[], contentMode: ContentMode = 'binary', logger: Logger = silentLogger): Promise<EventBus> {
    const transport = fixture.transport({ logger });
    const bus = fixture.track(new EventBus({ service, handlers, transport, contentMode, logger }));
    await bus.start();
    return bus;
  }

  async function tap(type: string): Promise<string> {
    const queue = `${run}.tap${++sequence}`;
    fixture.extraQueues.push(queue);
    await admin.tap(queue, options.exchange, routingKeyOf(type));
    return queue;
  }

  /** Polls every 20 ms, 15 s at most. */
  const until = (check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> => untilTrue(check, what, timeoutMs);

  afterEach(() => fixture.afterEach({ strict: true }));
  afterAll(() => fixture.cleanup());

  it('publishes binary mode as cloudEvents_ headers, content_type, message_id, and persistent', async () => {
    const { type, OrderPlaced, service } = defineEvent();
    const bus = await startBus(service, []);
    const queue = await tap(type);
    await bus.publish(new OrderPlaced('o-1', '9.99'), { time: new Date('2026-01-02T03:04:05.678Z'), extensions: { tenant: 'marios' } });
    const raw = await admin.take(queue);
    const headers = raw.properties.headers!;
    expect(raw.properties.contentType).toBe('application/json');
    expect(raw.properties.deliveryMode).toBe(2);
    expect(raw.properties.messageId).toBe(headers['cloudEvents_id']);
    expect(raw.fields.routingKey).toBe(type);
    expect(headers).toMatchObject({
      cloudEvents_specversion: '1.0',
      cloudEvents_type: type,
      cloudEvents_source: `/${service}`,
      cloudEvents_subject: 'o-1',
      cloudEvents_time: '2026-01-02T03:04:05.678Z',
      cloudEvents_tenant: 'marios',
    });
    expect(headers['cloudEvents_datacontenttype']).toBeUndefined();
    expect(JSON.parse(raw.content.toString('utf8'))).toEqual({ orderId: 'o-1', total: '9.99' });
  });

  it('publishes structured mode as the JSON event in the body, typed application/cloudevents+json', async () => {
    const { type, OrderPlaced, service } = defineEvent();
    const bus = await startBus(service, [], 'structured');
    const queue = await tap(type);
    await bus.publish(new OrderPlaced('o-2', '1.00'));
    const raw = await admin.take(queue);
    expect(raw.properties.contentType).toBe('application/cloudevents+json; charset=utf-8');
    expect(Object.keys(raw.properties.headers ?? {}).filter((name) => name.startsWith('cloudEvents'))).toEqual([]);
    expect(JSON.parse(raw.content.toString('utf8'))).toMatchObject({ specversion: '1.0', type, subject: 'o-2', data: { orderId: 'o-2', total: '1.00' } });
    expect(raw.properties.deliveryMode).toBe(2);
  });

  it('hands events from other producers to handlers: cloudEvents_ headers, cloudEvents: headers, and structured JSON', async () => {
    const { type, OrderPlaced, service } = defineEvent();
    const seen: Seen[] = [];
    await startBus(service, [recordingHandler(OrderPlaced, seen)]);
    const data = Buffer.from(JSON.stringify({ orderId: 'o-raw', total: '5' }));
    const routingKey = routingKeyOf(type);
    await admin.publish(options.exchange, routingKey, data, {
      contentType: 'application/json',
      headers: { cloudEvents_specversion: '1.0', cloudEvents_id: 'underscore', cloudEvents_source: '/foreign', cloudEvents_type: type, cloudEvents_rush: true, cloudEvents_priority: 3 },
    });
    await admin.publish(options.exchange, routingKey, data, {
      contentType: 'application/json',
      headers: { 'cloudEvents:specversion': '1.0', 'cloudEvents:id': 'colon', 'cloudEvents:source': '/foreign', 'cloudEvents:type': type, 'cloudEvents:tenant': Buffer.from('marios') },
    });
    await admin.publish(options.exchange, routingKey, Buffer.from(JSON.stringify({ specversion: '1.0', id: 'structured', source: '/foreign', type, datacontenttype: 'application/json', data: { orderId: 'o-raw', total: '5' } })), {
      contentType: 'application/cloudevents+json; charset=utf-8',
    });
    await until(() => seen.length >= 3, 'three deliveries');
    const byId = new Map(seen.map((entry) => [entry.cloudEvent.id, entry.cloudEvent]));
    expect(byId.get('underscore')).toMatchObject({ source: '/foreign', type, rush: 'true', priority: '3', datacontenttype: 'application/json', data: { orderId: 'o-raw' } });
    expect(byId.get('colon')).toMatchObject({ source: '/foreign', type, tenant: 'marios', data: { orderId: 'o-raw' } });
    expect(byId.get('structured')).toMatchObject({ source: '/foreign', type, data: { orderId: 'o-raw', total: '5' } });
  });

  it('keeps private retry headers away from handlers, and dead letters keep the x-death history of their retries', async () => {
    const { OrderPlaced, service } = defineEvent();
    const seen: Seen[] = [];
    const bus = await startBus(service, [
      recordingHandler(OrderPlaced, seen, () => {
        throw new Error('always fails');
      }),
    ]);
    await bus.publish(new OrderPlaced('o-dl', '1'));
    await until(() => seen.length >= 2, 'a retry');
    expect(seen.map((entry) => entry.attempt)).toEqual([1, 2]);
    for (const { cloudEvent } of seen) expect(Object.keys(cloudEvent).filter((name) => !/^[a-z0-9]+$/.test(name))).toEqual([]);
    const letter = await admin.take(options.deadLetterQueue);
    const headers = letter.properties.headers!;
    expect(headers['cloudEvents_deadletterreason']).toBe('retries-exhausted');
    expect(headers['x-cloudbus-subscription']).toBe(`${options.queuePrefix}${service}.Recording`);
    const deaths = headers['x-death'] as { queue: string; reason: string }[];
    expect(deaths.some((death) => death.queue === `${options.retryPrefix}.50` && death.reason === 'expired')).toBe(true);
  });

  /** A logger that keeps warnings and errors other than the bus's own dead-letter lines, to check none was reported. */
  function recordingLogger(lines: string[]): Logger {
    return {
      ...silentLogger,
      warn: (message) => {
        if (!message.startsWith('dead-lettered ')) lines.push(`warn: ${message}`);
      },
      error: (message) => lines.push(`error: ${message}`),
    };
  }

  it('dead-letters poison with forged bookkeeping headers, noting them, and keeps consuming (finding 1)', async () => {
    const { type, OrderPlaced, service } = defineEvent();
    const seen: Seen[] = [];
    const lines: string[] = [];
    const bus = await startBus(service, [recordingHandler(OrderPlaced, seen)], 'binary', recordingLogger(lines));
    const routingKey = routingKeyOf(type);
    await admin.publish(options.exchange, routingKey, Buffer.from('not an event'), { headers: { 'x-cloudbus-first-attempt': 1e300 } });
    await admin.publish(options.exchange, routingKey, Buffer.from('not an event'), { headers: { 'x-cloudbus-destination': 'orders\nforged: yes', 'x-cloudbus-attempt': -3 } });
    await bus.publish(new OrderPlaced('o-after', '1'));
    await until(() => seen.length >= 1, 'the valid event behind the poison');
    const letters = [await admin.take(options.deadLetterQueue), await admin.take(options.deadLetterQueue)];
    const headers = letters.map((letter) => letter.properties.headers!);
    expect(headers.map((h) => h['cloudEvents_deadletterreason'])).toEqual(['invalid', 'invalid']);
    expect(headers[0]!['cloudEvents_deadletterignored']).toMatch(/^x-cloudbus-first-attempt: /);
    expect(headers[1]!['cloudEvents_deadletterignored']).toMatch(/x-cloudbus-attempt: .*; x-cloudbus-destination: /);
    expect(headers[1]!['x-cloudbus-destination']).toBe(routingKey);
    expect(seen.map((entry) => entry.cloudEvent.subject)).toEqual(['o-after']);
    expect(lines).toEqual([]);
  });

  it('dead-letters a message whose headers are near the 64 KiB frame limit, trimmed, once (finding 3)', async () => {
    const { type, OrderPlaced, service } = defineEvent();
    const seen: Seen[] = [];
    const lines: string[] = [];
    const bus = await startBus(service, [recordingHandler(OrderPlaced, seen)], 'binary', recordingLogger(lines));
    const body = Buffer.from(JSON.stringify({ orderId: 'o-big', total: '1' }));
    await admin.publish(options.exchange, routingKeyOf(type), body, {
      contentType: 'application/json',
      headers: { cloudEvents_specversion: '1.0', cloudEvents_id: 'near-limit', cloudEvents_source: '/foreign', cloudEvents_type: type, cloudEvents_padding: 'p'.repeat(64_000) },
    });
    await bus.publish(new OrderPlaced('o-after', '1'));
    await until(() => seen.length >= 1, 'the valid event behind the large one');
    const letter = await admin.take(options.deadLetterQueue);
    const headers = letter.properties.headers!;
    expect(headers['cloudEvents_deadletterreason']).toBe('invalid');
    expect(headers['cloudEvents_deadletterlimit']).toBe('maxHeaderBytes');
    expect(headers['cloudEvents_deadlettertrimmed']).toMatch(/^headers padding \(64007 bytes\)$/);
    expect(headers['cloudEvents_padding']).toBeUndefined();
    expect(headers['cloudEvents_id']).toBe('near-limit');
    expect(letter.content.equals(body)).toBe(true);
    expect(await admin.depth(options.deadLetterQueue)).toBe(0);
    expect(seen.map((entry) => entry.cloudEvent.subject)).toEqual(['o-after']);
    expect(lines).toEqual([]);
  });
});
