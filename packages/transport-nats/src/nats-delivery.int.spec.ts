import 'reflect-metadata';

import { EventBus, EventHandler, EventType, PublishError, decodeDeadLetter, eventBrand, silentLogger, type WireMessage } from '@cloudbus/core';
import { type Delivery } from '@cloudbus/core/transport';
import type { JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type NatsTransport } from './nats-transport.js';
import type { NatsTransportOptions } from './nats-transport-options.js';
import { subjectForType } from './subject-naming.js';
import { NatsFixture, natsUrl, type OwnNatsOptions } from './testing/nats-fixture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(read: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await sleep(25);
  }
}

function wire(id: string, type: string, extra: Record<string, string> = {}): WireMessage {
  return {
    headers: { specversion: '1.0', id, source: '/nats-spec', type, ...extra },
    contentType: 'application/json',
    body: Buffer.from(JSON.stringify({ id })),
  };
}

describe.skipIf(!natsUrl)('nats transport: publishing, deliveries and the wire format', () => {
  const fixture = new NatsFixture('natsdel', 'nats-spec');
  const name = fixture.name;
  let options: OwnNatsOptions;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let sequence = 0;
  const nextType = () => `dev.cloudbus.nats.${name}.t${++sequence}`;
  const open = (extra: NatsTransportOptions = {}): Promise<NatsTransport> => fixture.open(extra);

  beforeAll(async () => {
    await fixture.start();
    options = fixture.options;
    nc = fixture.nc;
    jsm = fixture.jsm;
  });

  afterAll(() => fixture.cleanup());

  it('stores a re-published id once inside the duplicate window, and counts the duplicate instead of failing', async () => {
    const transport = await open();
    const type = nextType();
    const subject = subjectForType(name, type);
    const before = (await jsm.streams.info(options.stream, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
    await transport.publish([{ id: 'dup-1', type, message: wire('dup-1', type) }]);
    await transport.publish([{ id: 'dup-1', type, message: wire('dup-1', type) }]);
    await transport.publish([
      { id: 'dup-1', type, message: wire('dup-1', type) },
      { id: 'dup-2', type, message: wire('dup-2', type) },
    ]);
    const stored = (await jsm.streams.info(options.stream, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
    expect(stored - before).toBe(2);
    expect(transport.stats.duplicatesDropped).toBe(2);
  });

  it('rejects with a PublishError listing every id JetStream did not confirm', async () => {
    const own = fixture.own('natspuberr', { requestTimeoutMs: 2_000 });
    const transport = await open(own);
    await jsm.streams.delete(own.stream);
    await jsm.streams.delete(own.deadLetterStream);
    const type = nextType();
    const error = await transport.publish([
      { id: 'lost-1', type, message: wire('lost-1', type) },
      { id: 'lost-2', type, message: wire('lost-2', type) },
    ]).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).unconfirmed).toEqual(['lost-1', 'lost-2']);
    expect((error as Error).message).toMatch(/did not confirm 2 of 2 events/);
  });

  it('keeps a handler slower than AckWait from being redelivered while it works', async () => {
    const transport = await open({ ackWaitMs: 1_000 });
    const type = nextType();
    const deliveries: Delivery[] = [];
    const subscription = await transport.subscribe({ name: `nats-spec.Slow${sequence}`, types: [type], concurrency: 4 }, (delivery) => {
      deliveries.push(delivery);
      setTimeout(() => void delivery.ack(), 3_000);
    });
    await transport.publish([{ id: 'slow-1', type, message: wire('slow-1', type) }]);
    await until(() => (deliveries.length > 0 ? true : undefined), 10_000, 'the first delivery');
    await sleep(4_500);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.attempt).toBe(1);
    const info = await jsm.consumers.info(options.stream, `nats-spec__Slow${sequence}`);
    expect(info.num_redelivered).toBe(0);
    expect(info.num_ack_pending).toBe(0);
    await subscription.close();
  });

  it('never holds more unsettled deliveries than the subscription concurrency', async () => {
    const transport = await open({ maxAckPending: 100 });
    const type = nextType();
    const deliveries: Delivery[] = [];
    const subscription = await transport.subscribe({ name: `nats-spec.Bounded${sequence}`, types: [type], concurrency: 3 }, (delivery) => deliveries.push(delivery));
    await transport.publish(Array.from({ length: 10 }, (_, i) => ({ id: `b-${i}`, type, message: wire(`b-${i}`, type) })));
    await until(() => (deliveries.length >= 3 ? true : undefined), 10_000, '3 deliveries');
    await sleep(500);
    expect(deliveries).toHaveLength(3);
    await deliveries[0]!.ack();
    await until(() => (deliveries.length >= 4 ? true : undefined), 10_000, 'a 4th delivery once a slot is free');
    await sleep(300);
    expect(deliveries).toHaveLength(4);
    for (const delivery of deliveries) await delivery.ack();
    await subscription.close();
  });

  it('gives the delivery count as attempt and the stream timestamp as first attempt time', async () => {
    const transport = await open();
    const type = nextType();
    const deliveries: Delivery[] = [];
    const subscription = await transport.subscribe({ name: `nats-spec.Count${sequence}`, types: [type], concurrency: 1 }, (delivery) => {
      deliveries.push(delivery);
      void (deliveries.length === 1 ? delivery.nack(200) : delivery.ack());
    });
    const before = Date.now();
    await transport.publish([{ id: 'count-1', type, message: wire('count-1', type) }]);
    await until(() => (deliveries.length >= 2 ? true : undefined), 10_000, 'the redelivery');
    const [first, second] = deliveries;
    expect([first!.attempt, second!.attempt]).toEqual([1, 2]);
    expect(second!.firstAttemptAt).toBe(first!.firstAttemptAt);
    expect(first!.firstAttemptAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(first!.firstAttemptAt).toBeLessThanOrEqual(Date.now());
    expect(first!.destination).toBe(subjectForType(name, type));
    await subscription.close();
  });

  it('percent-encodes non-ASCII attribute values on the wire and decodes them on receive', async () => {
    const transport = await open();
    const type = nextType();
    const subject = subjectForType(name, type);
    const raw: Msg[] = [];
    const tap = nc.subscribe(subject, {
      callback: (_error, msg) => {
        raw.push(msg);
      },
    });
    await nc.flush();
    const received: Delivery[] = [];
    const subscription = await transport.subscribe({ name: `nats-spec.Wire${sequence}`, types: [type], concurrency: 1 }, (delivery) => {
      received.push(delivery);
      void delivery.ack();
    });
    const note = 'größe ✓ – "quoted" 100% \\ 🍕';
    await transport.publish([{ id: 'wire-1', type, message: wire('wire-1', type, { note }) }]);
    await until(() => (raw.length > 0 && received.length > 0 ? true : undefined), 10_000, 'the message');
    const headers = raw[0]!.headers!;
    expect(headers.get('ce-note')).toBe('gr%C3%B6%C3%9Fe%20%E2%9C%93%20%E2%80%93%20%22quoted%22%20100%25%20\\%20%F0%9F%8D%95');
    expect(headers.get('ce-id')).toBe('wire-1');
    expect(headers.get('ce-specversion')).toBe('1.0');
    expect(headers.get('Content-Type')).toBe('application/json');
    expect(headers.get('ce-datacontenttype')).toBe('application/json');
    expect(headers.get('Nats-Msg-Id')).toBe('wire-1');
    expect(received[0]!.message.headers['note']).toBe(note);
    expect(received[0]!.message.headers).not.toHaveProperty('nats-msg-id');
    tap.unsubscribe();
    await subscription.close();
  });

  it('dead-letters an event whose attribute is not valid percent-encoding, without calling the handler', async () => {
    const type = nextType();
    class Ping {
      declare readonly [eventBrand]: string;
      constructor(readonly id: string) {}
    }
    EventType(type)(Ping);
    const handled: Ping[] = [];
    class PingHandler {
      handle(event: Ping): void {
        handled.push(event);
      }
    }
    EventHandler(Ping, { name: 'Ping' })(PingHandler);
    const transport = fixture.createTransport();
    const bus = new EventBus({ service: `svc${sequence}`, transport, handlers: [PingHandler], logger: silentLogger });
    await bus.start();
    try {
      const headers = natsHeaders();
      const valid = wire('bad-enc', type);
      for (const [key, value] of Object.entries(valid.headers)) headers.set(`ce-${key}`, value);
      headers.set('ce-subject', 'order%ZZ');
      headers.set('Content-Type', 'application/json');
      await jsm.jetstream().publish(subjectForType(name, type), valid.body, { headers });
      await bus.publish(new Ping('after'));
      await until(() => (handled.length > 0 ? true : undefined), 10_000, 'the valid event');
      const deadLetter = await until(
        async () => (await transport.readDeadLetters()).map(decodeDeadLetter).find((d) => d.record?.handler === `svc${sequence}.Ping`),
        10_000,
        'the dead letter',
      );
      expect(deadLetter.record!.reason).toBe('invalid');
      expect(deadLetter.record!.attempts).toBe(0);
      expect(deadLetter.record!.error.message).toMatch(/invalid-percent-encoding/);
      expect(deadLetter.message.headers['subject']).toBe('order%ZZ');
      expect(deadLetter.destination).toBe(subjectForType(name, type));
      expect(handled.map((event) => event.id)).toEqual(['after']);
    } finally {
      await bus.stop();
    }
  });

  it('hands a spec-exact binary message (ce-datacontenttype, quoted values) from a raw NATS client to the handler (finding 6)', async () => {
    const type = nextType();
    class Order {
      declare readonly [eventBrand]: string;
      constructor(readonly id: string) {}
    }
    EventType(type)(Order);
    const handled: { event: Order; time: unknown; source: unknown; subject: unknown; datacontenttype: unknown }[] = [];
    class OrderHandler {
      handle(event: Order, context: { cloudEvent: Record<string, unknown> }): void {
        const { time, source, subject, datacontenttype } = context.cloudEvent;
        handled.push({ event, time, source, subject, datacontenttype });
      }
    }
    EventHandler(Order, { name: 'Spec' })(OrderHandler);
    const transport = fixture.createTransport();
    const bus = new EventBus({ service: `svc${sequence}`, transport, handlers: [OrderHandler], logger: silentLogger });
    await bus.start();
    try {
      // NATS Protocol Binding 3.1.3.1, as its example shows it: no Content-Type header.
      const spec = natsHeaders();
      spec.set('ce-specversion', '1.0');
      spec.set('ce-type', type);
      spec.set('ce-time', '2018-04-05T03:56:24Z');
      spec.set('ce-id', '1234-1234-1234');
      spec.set('ce-source', '/mycontext/subcontext');
      spec.set('ce-datacontenttype', 'application/json; charset=utf-8');
      await jsm.jetstream().publish(subjectForType(name, type), Buffer.from('{"id":"spec"}'), { headers: spec });
      // An older producer: double-quoted values with backslash escapes (RFC 7230 3.2.6), and a Content-Type that ce-datacontenttype overrides.
      const quoted = natsHeaders();
      quoted.set('ce-specversion', '"1.0"');
      quoted.set('ce-type', `"${type}"`);
      quoted.set('ce-id', '"quoted-1"');
      quoted.set('ce-source', '"/older/producer"');
      quoted.set('ce-subject', '"a \\"quoted\\" subject"');
      quoted.set('Content-Type', 'text/plain');
      quoted.set('ce-datacontenttype', '"application/json"');
      await jsm.jetstream().publish(subjectForType(name, type), Buffer.from('{"id":"quoted"}'), { headers: quoted });
      await until(() => (handled.length >= 2 ? true : undefined), 10_000, 'both messages');
      const byId = new Map(handled.map((entry) => [entry.event.id, entry]));
      expect(byId.get('spec')).toMatchObject({ time: '2018-04-05T03:56:24Z', source: '/mycontext/subcontext', datacontenttype: 'application/json; charset=utf-8' });
      expect(byId.get('quoted')).toMatchObject({ source: '/older/producer', subject: 'a "quoted" subject', datacontenttype: 'application/json' });
      expect((await transport.readDeadLetters()).map(decodeDeadLetter).filter((d) => d.record?.handler === `svc${sequence}.Spec`)).toEqual([]);
    } finally {
      await bus.stop();
    }
  });

  it('structured mode both ways: the bus writes only Content-Type and the JSON event; a raw client sending the spec example is handled', async () => {
    const type = nextType();
    class Order {
      declare readonly [eventBrand]: string;
      constructor(readonly id: string) {}
    }
    EventType(type)(Order);
    const handled: { id: string; source: unknown }[] = [];
    class OrderHandler {
      handle(event: Order, context: { cloudEvent: Record<string, unknown> }): void {
        handled.push({ id: event.id, source: context.cloudEvent['source'] });
      }
    }
    EventHandler(Order, { name: 'Structured' })(OrderHandler);
    const subject = subjectForType(name, type);
    const raw: Msg[] = [];
    const tap = nc.subscribe(subject, { callback: (_error, msg) => void raw.push(msg) });
    await nc.flush();
    const transport = fixture.createTransport();
    const bus = new EventBus({ service: `svc${sequence}`, transport, handlers: [OrderHandler], logger: silentLogger, contentMode: 'structured' });
    await bus.start();
    try {
      await bus.publish(new Order('ours'));
      // NATS Protocol Binding 3.2 (structured content mode), as its example shows it.
      const headers = natsHeaders();
      headers.set('Content-Type', 'application/cloudevents+json; charset=utf-8');
      const event = { specversion: '1.0', type, time: '2018-04-05T03:56:24Z', id: 'spec-structured', source: '/mycontext/subcontext', datacontenttype: 'application/json', data: { id: 'theirs' } };
      await jsm.jetstream().publish(subject, Buffer.from(JSON.stringify(event)), { headers });
      await until(() => (handled.length >= 2 && raw.length >= 1 ? true : undefined), 10_000, 'both events');
      const ours = raw[0]!;
      expect(ours.headers!.get('Content-Type')).toBe('application/cloudevents+json; charset=utf-8');
      expect([...ours.headers!.keys()].filter((key) => key.toLowerCase().startsWith('ce-'))).toEqual([]);
      expect(JSON.parse(Buffer.from(ours.data).toString())).toMatchObject({ specversion: '1.0', type, data: { id: 'ours' } });
      expect(handled.map((entry) => entry.id).sort()).toEqual(['ours', 'theirs']);
      expect(handled.find((entry) => entry.id === 'theirs')?.source).toBe('/mycontext/subcontext');
    } finally {
      tap.unsubscribe();
      await bus.stop();
    }
  });
});
