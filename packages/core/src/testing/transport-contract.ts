import { randomUUID } from 'node:crypto';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { EventBus } from '../bus/event-bus.js';
import { silentLogger } from '../logger.js';
import type { CloudbusOptions } from '../bus/options.js';
import { decodeDeadLetter, prepareReplay, type DeadLetter } from '../dead-letter/dead-letter-message.js';
import type { CloudEvent } from '../envelope/cloud-event.js';
import { encodeCloudEvent, type WireMessage } from '../envelope/wire-codec.js';
import { BusNotStartedError, MessageTooLargeError, PermanentError, TransportClosedError } from '../errors.js';
import { EventType, eventBrand, eventTypeOf, type EventClass } from '../events/event-type.js';
import type { EventContext } from '../handlers/event-context.js';
import { EventHandler, type HandlerClass, type HandlerOptions } from '../handlers/event-handler.js';
import { retry } from '../policies/retry.js';
import { canReadDeadLetters, type Transport } from '../transport/transport.js';
import { transportLevelCases } from './transport-level-cases.js';
import { eventually, Recorder, sleep } from './waiting.js';
import { FUZZ_SEED_VARIABLE, fuzzRuns, fuzzSeed, wireFuzz, type ForgedBookkeeping } from './wire-fuzz.js';

/** What a transport gives the contract suite. */
export interface ContractHarness {
  /**
   * A new, unconnected transport on the broker under test; called once per bus. With
   * `publishTimeoutMs`, a publish the broker has not accepted within that time, connected or not,
   * fails with `PublishError` (map it to the transport's options).
   */
  createTransport(options?: { readonly publishTimeoutMs?: number }): Transport | Promise<Transport>;
  /**
   * Where a delivery of an event of `type` says it was published, and where its dead letter says it
   * came from (routing key, subject or topic, as the transport names it).
   */
  destinationOf(type: string): string;
  /**
   * Cuts the network between every transport {@link createTransport} made and the broker (a TCP
   * proxy the harness puts between them): connections drop and new ones hang. Cases that need it
   * are skipped without it.
   */
  cutNetwork?(): Promise<void>;
  /** Lets connections through again after {@link cutNetwork}. */
  restoreNetwork?(): Promise<void>;
  /**
   * Destructive (`transportScenarios` only): stops the broker, keeps it down about `downMs`, and
   * starts it again; resolves once it accepts connections. Must leave the broker running even when
   * it fails.
   */
  restartBroker?(downMs: number): Promise<void>;
  /**
   * Events published across the restart scenario (the broker must be able to hold them for a
   * subscriber that is away).
   * @default 10_000
   */
  readonly restartVolume?: number;
  /**
   * Destructive (`transportScenarios` only): how a consumer in a process of its own reaches this
   * broker, so that the suite can SIGKILL it mid-handle. `module` is the built transport package
   * (its `dist/index.js`), which registers the transport `transport` when imported.
   */
  consumerProcess?: { readonly module: string; readonly transport: string; readonly url?: string; readonly options: Readonly<Record<string, unknown>> };
  /**
   * Publishes a raw message as a foreign producer would, routed as an event of `type`
   * (used to inject poison). `message` is the neutral wire form; map it to the protocol as-is.
   */
  injectRaw(type: string, message: WireMessage): Promise<void | boolean>;
  /**
   * Optional: publishes a raw message with cloudbus's own bookkeeping values forged (RabbitMQ
   * `x-cloudbus-*` headers, an MQTT redelivery topic), for the subscription `subscription`, as an
   * attacker on the broker could. Resolves `false` when the broker or its client refuses it.
   */
  injectForged?(type: string, subscription: string, message: WireMessage, bookkeeping: ForgedBookkeeping): Promise<void | boolean>;
  /**
   * Random messages in the wire fuzz case; `CLOUDBUS_FUZZ_RUNS` overrides it.
   * @default 25
   */
  readonly fuzzRuns?: number;
  /** Called once after the suite: delete what the run created on the broker. */
  cleanup?(): Promise<void>;
  /**
   * Messages in the volume test.
   * @default 10_000
   */
  readonly volume?: number;
  /**
   * Longest wait for anything asynchronous, in ms.
   * @default 10_000
   */
  readonly timeoutMs?: number;
}


/**
 * The transport contract suite: registers vitest tests that run the bus end to end over the
 * transport. Every transport runs it unchanged; cases a transport cannot honour are chosen by its
 * declared capabilities. Names (event types, subscriptions) are unique per run, so runs can share
 * a broker.
 *
 * @example
 * ```ts
 * transportContract('memory', () => {
 *   const broker = new MemoryBroker();
 *   return { createTransport: () => new MemoryTransport({ broker }), injectRaw: async (type, m) => broker.publish(type, m) };
 * });
 * ```
 */
export function transportContract(name: string, factory: () => ContractHarness | Promise<ContractHarness>): void {
  describe(`transport contract: ${name}`, () => {
    const run = `c${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
    let harnessPromise: Promise<ContractHarness> | undefined;
    const harness = () => (harnessPromise ??= Promise.resolve(factory()));
    const buses: EventBus[] = [];
    let sequence = 0;

    /** Event classes with types unique to this run and test. */
    function defineEvents() {
      const prefix = `dev.cloudbus.contract.${run}.t${++sequence}`;
      class OrderPlaced {
        declare readonly [eventBrand]: string;
        constructor(
          readonly orderId: string,
          readonly total: string,
          readonly note: string = '',
        ) {}
      }
      EventType(prefix + '.order.placed', { subject: (e: OrderPlaced) => e.orderId })(OrderPlaced);
      class BinaryBlob {
        declare readonly [eventBrand]: string;
        constructor(readonly bytes: Uint8Array) {}
      }
      EventType(prefix + '.blob', {
        toData: (e: BinaryBlob) => e.bytes,
        fromData: (data: Uint8Array) => new BinaryBlob(new Uint8Array(data)),
      })(BinaryBlob);
      class Followup {
        declare readonly [eventBrand]: string;
        constructor(readonly orderId: string) {}
      }
      EventType(prefix + '.followup')(Followup);
      return { prefix, OrderPlaced, BinaryBlob, Followup, service: `${run}-s${sequence}` };
    }

    /** A handler class that records into `recorder` and runs `behaviour`. */
    function handler<T extends object>(
      eventClass: EventClass<T>,
      recorder: Recorder,
      options: HandlerOptions & { readonly name: string },
      behaviour: (event: T, context: EventContext) => unknown = () => undefined,
    ): HandlerClass {
      class RecordingHandler {
        async handle(event: T, context: EventContext): Promise<void> {
          recorder.record(event, context);
          await behaviour(event, context);
        }
      }
      EventHandler(eventClass, options)(RecordingHandler);
      return RecordingHandler;
    }

    async function startBus(options: Omit<CloudbusOptions, 'transport'>, given?: Transport): Promise<EventBus> {
      const transport = given ?? (await (await harness()).createTransport());
      const bus = new EventBus({ logger: silentLogger, ...options, transport });
      buses.push(bus);
      await bus.start();
      return bus;
    }

    async function deadLetters(bus: EventBus, predicate: (deadLetter: DeadLetter) => boolean): Promise<DeadLetter> {
      const transport = bus.transport;
      if (!canReadDeadLetters(transport)) throw new Error(`${name} cannot list dead letters: implement DeadLetterReader.`);
      return eventually(
        async () => (await transport.readDeadLetters()).map(decodeDeadLetter).find(predicate),
        timeout(),
        'a dead letter',
      );
    }

    let timeoutValue = 10_000;
    const timeout = () => timeoutValue;

    afterEach(async () => {
      for (const bus of buses.splice(0)) {
        if (bus.state === 'started') await bus.stop({ drainTimeoutMs: 500 });
      }
    });

    afterAll(async () => {
      await (await harness()).cleanup?.();
    });

    it('round-trips every attribute, extension and the data, in binary and structured mode', async () => {
      timeoutValue = (await harness()).timeoutMs ?? 10_000;
      for (const contentMode of ['binary', 'structured'] as const) {
        const { OrderPlaced, service } = defineEvents();
        const recorder = new Recorder();
        const transport = await (await harness()).createTransport();
        if (contentMode === 'binary' && !transport.capabilities.binaryMode) continue;
        const bus = await startBus({ service, contentMode, handlers: [handler(OrderPlaced, recorder, { name: 'Roundtrip' })] }, transport);
        const time = new Date('2026-01-02T03:04:05.678Z');
        await bus.publish(new OrderPlaced('o-1', '31.98', 'größe ✓ – "quoted" \\ 🍕'), {
          time,
          correlationId: 'corr-1',
          extensions: { tenant: 'marios', priority: 7, rush: true, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
        });
        await recorder.waitForCount(1, timeout());
        const { event, cloudEvent } = recorder.received[0]!;
        expect(event).toBeInstanceOf(OrderPlaced);
        expect(event).toEqual(new OrderPlaced('o-1', '31.98', 'größe ✓ – "quoted" \\ 🍕'));
        expect(cloudEvent).toMatchObject({
          specversion: '1.0',
          source: `/${service}`,
          type: eventTypeOf(OrderPlaced)!.type,
          time: time.toISOString(),
          subject: 'o-1',
          datacontenttype: 'application/json',
          correlationid: 'corr-1',
          tenant: 'marios',
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        });
        expect(cloudEvent.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(String(cloudEvent['priority'])).toBe('7');
        expect(String(cloudEvent['rush'])).toBe('true');
        expect(String(cloudEvent['dataversion'])).toBe('1');
        await bus.stop();
      }
    });

    it('carries binary data byte for byte, in both modes', async () => {
      const bytes = new Uint8Array(512);
      for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
      for (const contentMode of ['binary', 'structured'] as const) {
        const { BinaryBlob, service } = defineEvents();
        const recorder = new Recorder();
        const transport = await (await harness()).createTransport();
        if (contentMode === 'binary' && !transport.capabilities.binaryMode) continue;
        const bus = await startBus({ service, contentMode, handlers: [handler(BinaryBlob, recorder, { name: 'Blob' })] }, transport);
        await bus.publish(new BinaryBlob(bytes));
        await recorder.waitForCount(1, timeout());
        const received = recorder.received[0]!;
        expect(received.cloudEvent.datacontenttype).toBe('application/octet-stream');
        expect([...(received.event as InstanceType<typeof BinaryBlob>).bytes]).toEqual([...bytes]);
        await bus.stop();
      }
    });

    it('fans an event out to every handler of it, each once', async () => {
      const { OrderPlaced, service } = defineEvents();
      const kitchen = new Recorder();
      const billing = new Recorder();
      const bus = await startBus({
        service,
        handlers: [handler(OrderPlaced, kitchen, { name: 'Kitchen' }), handler(OrderPlaced, billing, { name: 'Billing' })],
      });
      await bus.publish([new OrderPlaced('o-1', '1'), new OrderPlaced('o-2', '2')]);
      await kitchen.waitForCount(2, timeout());
      await billing.waitForCount(2, timeout());
      await sleep(200);
      expect(kitchen.received.map((r) => (r.event as InstanceType<typeof OrderPlaced>).orderId).sort()).toEqual(['o-1', 'o-2']);
      expect(billing.received.map((r) => (r.event as InstanceType<typeof OrderPlaced>).orderId).sort()).toEqual(['o-1', 'o-2']);
    });

    it('lets two instances of one service compete: each event is handled once, by one of them', async () => {
      const { OrderPlaced, service } = defineEvents();
      const first = new Recorder();
      const second = new Recorder();
      const slow = () => sleep(5);
      const busA = await startBus({ service, handlers: [handler(OrderPlaced, first, { name: 'Kitchen', concurrency: 1 }, slow)] });
      await startBus({ service, handlers: [handler(OrderPlaced, second, { name: 'Kitchen', concurrency: 1 }, slow)] });
      const count = 100;
      await busA.publish(Array.from({ length: count }, (_, i) => new OrderPlaced(`o-${i}`, String(i))));
      await eventually(async () => (first.received.length + second.received.length >= count ? true : undefined), timeout(), `${count} deliveries`);
      await sleep(200);
      const ids = [...first.received, ...second.received].map((r) => (r.event as InstanceType<typeof OrderPlaced>).orderId);
      expect(ids.length).toBe(count);
      expect(new Set(ids).size).toBe(count);
      expect(first.received.length).toBeGreaterThan(0);
      expect(second.received.length).toBeGreaterThan(0);
    });

    it('redelivers a failed event no sooner than the retry delay, with the attempt counted', async () => {
      const { OrderPlaced, service } = defineEvents();
      const recorder = new Recorder();
      const bus = await startBus({
        service,
        handlers: [
          handler(OrderPlaced, recorder, { name: 'Flaky', retry: retry.fixed({ attempts: 3, delayMs: 300 }) }, (_e, context) => {
            if (context.attempt === 1) throw new Error('oven not hot yet');
          }),
        ],
      });
      await bus.publish(new OrderPlaced('o-1', '1'));
      await recorder.waitForCount(2, timeout());
      const [first, second] = recorder.received;
      expect(first!.attempt).toBe(1);
      expect(second!.attempt).toBe(2);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(295);
      expect(second!.cloudEvent.id).toBe(first!.cloudEvent.id);
      await sleep(400);
      expect(recorder.received).toHaveLength(2);
    });

    it('retries, then dead-letters with the failure record, leaves other handlers alone and keeps consuming', async () => {
      const { OrderPlaced, service } = defineEvents();
      const failing = new Recorder();
      const other = new Recorder();
      const bus = await startBus({
        service,
        handlers: [
          handler(OrderPlaced, failing, { name: 'Sms', retry: retry.fixed({ attempts: 3, delayMs: 50 }) }, (event) => {
            if ((event as InstanceType<typeof OrderPlaced>).orderId === 'o-bad') throw new TypeError('SMS gateway said no');
          }),
          handler(OrderPlaced, other, { name: 'Kitchen' }),
        ],
      });
      const before = Date.now();
      await bus.publish(new OrderPlaced('o-bad', '9.50'), { correlationId: 'corr-dl' });
      const deadLetter = await deadLetters(bus, (d) => d.cloudEvent?.subject === 'o-bad');
      expect(failing.received.map((r) => r.attempt)).toEqual([1, 2, 3]);
      expect(other.received).toHaveLength(1);
      const record = deadLetter.record!;
      expect(record.reason).toBe('retries-exhausted');
      expect(record.handler).toBe(`${service}.Sms`);
      expect(record.attempts).toBe(3);
      expect(record.error.type).toBe('TypeError');
      expect(record.error.message).toBe('SMS gateway said no');
      expect(record.error.stack).toMatch(/at /);
      expect(record.destination).not.toBe('');
      expect(Date.parse(record.firstAttemptTime)).toBeGreaterThanOrEqual(before - 1_000);
      expect(Date.parse(record.time)).toBeGreaterThanOrEqual(Date.parse(record.firstAttemptTime));
      expect(deadLetter.cloudEvent).toMatchObject({ correlationid: 'corr-dl', subject: 'o-bad', data: { orderId: 'o-bad', total: '9.50' } });
      expect(deadLetter.cloudEvent!['deadletterreason']).toBe('retries-exhausted');

      await bus.publish(new OrderPlaced('o-good', '1'));
      await failing.waitForCount(4, timeout());
      await other.waitForCount(2, timeout());
    });

    it('replays a dead letter to the handler that gave up, and to no other', async () => {
      const { OrderPlaced, service } = defineEvents();
      const sms = new Recorder();
      const kitchen = new Recorder();
      let gatewayUp = false;
      const bus = await startBus({
        service,
        handlers: [
          handler(OrderPlaced, sms, { name: 'Sms', retry: retry.none() }, () => {
            if (!gatewayUp) throw new Error('SMS gateway down');
          }),
          handler(OrderPlaced, kitchen, { name: 'Kitchen' }),
        ],
      });
      await bus.publish(new OrderPlaced('o-replay', '1'));
      const deadLetter = await deadLetters(bus, (d) => d.record?.handler === `${service}.Sms`);
      await kitchen.waitForCount(1, timeout());
      gatewayUp = true;
      const replay = prepareReplay(deadLetter);
      await bus.publishPrepared([replay]);
      await sms.waitForCount(2, timeout());
      await sleep(300);
      const replayed = sms.received[1]!;
      expect(replayed.cloudEvent.id).toBe(replay.id);
      expect(replayed.cloudEvent.causationid).toBe(deadLetter.cloudEvent!.id);
      expect((replayed.event as InstanceType<typeof OrderPlaced>).orderId).toBe('o-replay');
      expect(kitchen.received).toHaveLength(1);
    });

    it('dead-letters a PermanentError at once, without retries', async () => {
      const { OrderPlaced, service } = defineEvents();
      const recorder = new Recorder();
      const bus = await startBus({
        service,
        handlers: [
          handler(OrderPlaced, recorder, { name: 'Strict', retry: retry.fixed({ attempts: 5, delayMs: 10 }) }, () => {
            throw new PermanentError('unknown order');
          }),
        ],
      });
      await bus.publish(new OrderPlaced('o-1', '1'));
      const deadLetter = await deadLetters(bus, (d) => d.record?.handler === `${service}.Strict`);
      expect(deadLetter.record).toMatchObject({ reason: 'non-retryable', attempts: 1, error: { type: 'PermanentError', message: 'unknown order' } });
      await sleep(100);
      expect(recorder.received).toHaveLength(1);
    });

    it('survives random wire input: valid events handled once each, every random message settled once, nothing thrown', async () => {
      const seed = fuzzSeed();
      const given = await harness();
      const runs = fuzzRuns(given.fuzzRuns ?? 25);
      console.log(`[wire fuzz] ${name}: seed ${seed}, ${runs} random messages (rerun one seed with ${FUZZ_SEED_VARIABLE}=${seed})`);
      const report = await wireFuzz(given, { seed, runs, timeoutMs: timeout() * 3 });
      expect(report.injected + report.refusedByBroker).toBe(runs);
      expect(report.deliveries).toBe(report.injected + runs);
    }, 120_000);

    it('dead-letters poison without calling the handler, and keeps consuming', async () => {
      const { OrderPlaced, service } = defineEvents();
      const recorder = new Recorder();
      const bus = await startBus({ service, handlers: [handler(OrderPlaced, recorder, { name: 'Kitchen' })] });
      const type = eventTypeOf(OrderPlaced)!.type;
      const { injectRaw } = await harness();
      // Poison in the content mode the transport carries: headers where it has them, JSON otherwise.
      const mode = bus.transport.capabilities.binaryMode ? 'binary' : 'structured';
      const good: CloudEvent = { specversion: '1.0', id: 'raw-ok', source: '/raw', type, datacontenttype: 'application/json', data: { orderId: 'o-raw', total: '1' } };
      const variant = (overrides: Record<string, unknown>) => encodeCloudEvent({ ...good, ...overrides } as CloudEvent, mode);
      await injectRaw(type, { headers: {}, contentType: 'application/cloudevents+json', body: Buffer.from('{not json') });
      await injectRaw(type, { headers: {}, contentType: 'application/json', body: Buffer.from('{"orderId":"o-x"}') });
      await injectRaw(type, variant({ specversion: '0.3', id: 'raw-03' }));
      await injectRaw(type, variant({ type: `${type}.other`, id: 'raw-other' }));
      if (mode === 'binary') {
        await injectRaw(type, { ...variant({ id: 'raw-baddata' }), body: Buffer.from('{"orderId":') });
      } else {
        await injectRaw(type, variant({ id: 'raw-baddata', data: 'not an order' }));
      }
      await injectRaw(type, variant({}));
      await recorder.waitForCount(1, timeout());
      const handlerName = `${service}.Kitchen`;
      const transport = bus.transport;
      if (!canReadDeadLetters(transport)) throw new Error(`${name} cannot list dead letters.`);
      const mine = await eventually(async () => {
        const all = (await transport.readDeadLetters()).map(decodeDeadLetter).filter((d) => d.record?.handler === handlerName);
        return all.length >= 5 ? all : undefined;
      }, timeout(), '5 dead letters');
      const badData = mode === 'binary' ? 'invalid' : 'undecodable';
      expect(mine.map((d) => d.record!.reason).sort()).toEqual(['invalid', 'invalid', 'invalid', badData, 'unknown-type'].sort());
      expect(mine.every((d) => d.record!.attempts === 0)).toBe(true);
      expect(mine.some((d) => Buffer.from(d.message.body).toString() === '{not json')).toBe(true);
      expect(recorder.received.map((r) => r.cloudEvent.id)).toEqual(['raw-ok']);
    });

    it('passes the correlation id on and sets the causation id for events published while handling', async () => {
      const { OrderPlaced, Followup, service } = defineEvents();
      const placed = new Recorder();
      const followups = new Recorder();
      const bus = await startBus({
        service,
        handlers: [
          handler(OrderPlaced, placed, { name: 'Kitchen' }, (event, context) =>
            context.publish(new Followup((event as InstanceType<typeof OrderPlaced>).orderId)),
          ),
          handler(Followup, followups, { name: 'Audit' }),
        ],
      });
      await bus.publish(new OrderPlaced('o-1', '1'), { extensions: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
      await followups.waitForCount(1, timeout());
      const parent = placed.received[0]!.cloudEvent;
      const child = followups.received[0]!.cloudEvent;
      expect(parent.correlationid).toBe(parent.id);
      expect(child.correlationid).toBe(parent.id);
      expect(child.causationid).toBe(parent.id);
      expect(child.traceparent).toBe(parent.traceparent);
    });

    it('hands unfinished work back on stop, and the next start handles it', async () => {
      const { OrderPlaced, service } = defineEvents();
      const stuck = new Recorder();
      let release!: () => void;
      const blocked = new Promise<void>((resolve) => (release = resolve));
      const first = await startBus({ service, handlers: [handler(OrderPlaced, stuck, { name: 'Oven' }, () => blocked)] });
      await first.publish([new OrderPlaced('o-1', '1'), new OrderPlaced('o-quick', '1')]);
      await stuck.waitForCount(2, timeout());
      await first.stop({ drainTimeoutMs: 100 });
      release();

      const resumed = new Recorder();
      await startBus({ service, handlers: [handler(OrderPlaced, resumed, { name: 'Oven' })] });
      await resumed.waitForCount(2, timeout());
      await sleep(300);
      const ids = resumed.received.map((r) => (r.event as InstanceType<typeof OrderPlaced>).orderId).sort();
      expect(ids).toEqual(['o-1', 'o-quick']);
      expect(resumed.received.every((r) => r.attempt >= 2)).toBe(true);
    });

    it('lets handlers in flight finish during stop, and acks them', async () => {
      const { OrderPlaced, service } = defineEvents();
      const recorder = new Recorder();
      const first = await startBus({ service, handlers: [handler(OrderPlaced, recorder, { name: 'Oven' }, () => sleep(150))] });
      await first.publish(new OrderPlaced('o-1', '1'));
      await recorder.waitForCount(1, timeout());
      await first.stop({ drainTimeoutMs: 5_000 });
      const again = new Recorder();
      await startBus({ service, handlers: [handler(OrderPlaced, again, { name: 'Oven' })] });
      await sleep(500);
      expect(again.received).toHaveLength(0);
    });

    it('publishes and handles a large volume with none lost or duplicated', async () => {
      const volume = (await harness()).volume ?? 10_000;
      const { OrderPlaced, service } = defineEvents();
      const recorder = new Recorder();
      const bus = await startBus({ service, concurrency: 64, handlers: [handler(OrderPlaced, recorder, { name: 'Counter' })] });
      const batch = 500;
      for (let start = 0; start < volume; start += batch) {
        await bus.publish(Array.from({ length: Math.min(batch, volume - start) }, (_, i) => new OrderPlaced(`o-${start + i}`, '1')));
      }
      await recorder.waitForCount(volume, Math.max(timeout(), volume * 5));
      await sleep(300);
      const ids = recorder.received.map((r) => (r.event as InstanceType<typeof OrderPlaced>).orderId);
      expect(ids.length).toBe(volume);
      expect(new Set(ids).size).toBe(volume);
    });

    it('carries a 512 KiB event, and refuses one over the limit with a clear error', async () => {
      const { OrderPlaced, service } = defineEvents();
      const recorder = new Recorder();
      const bus = await startBus({ service, handlers: [handler(OrderPlaced, recorder, { name: 'Big' })] });
      const note = 'x'.repeat(512 * 1024);
      await bus.publish(new OrderPlaced('o-big', '1', note));
      await recorder.waitForCount(1, timeout());
      expect((recorder.received[0]!.event as InstanceType<typeof OrderPlaced>).note).toHaveLength(note.length);

      const limit = bus.transport.capabilities.maxMessageBytes;
      const tooBig = new OrderPlaced('o-huge', '1', 'y'.repeat(limit + 1));
      await expect(bus.publish(tooBig)).rejects.toBeInstanceOf(MessageTooLargeError);
      await expect(bus.publish(tooBig)).rejects.toThrow(/over the limit/);
    });

    it('keeps publish order for one subscriber with concurrency 1, where the transport is ordered', async (context) => {
      const { OrderPlaced, service } = defineEvents();
      const recorder = new Recorder();
      const bus = await startBus({ service, handlers: [handler(OrderPlaced, recorder, { name: 'Sequencer', concurrency: 1 })] });
      if (!bus.transport.capabilities.ordered) context.skip('the transport does not keep order (capabilities.ordered)');
      await bus.publish(Array.from({ length: 200 }, (_, i) => new OrderPlaced(`o-${i}`, '1')));
      await recorder.waitForCount(200, timeout());
      expect(recorder.received.map((r) => (r.event as InstanceType<typeof OrderPlaced>).orderId)).toEqual(
        Array.from({ length: 200 }, (_, i) => `o-${i}`),
      );
    });

    it('drops a re-published id, where the transport de-duplicates', async (context) => {
      const { OrderPlaced, service } = defineEvents();
      const recorder = new Recorder();
      const bus = await startBus({ service, handlers: [handler(OrderPlaced, recorder, { name: 'Once' })] });
      if (!bus.transport.capabilities.publishDeduplication) context.skip('the broker does not de-duplicate (capabilities.publishDeduplication)');
      const id = randomUUID();
      await bus.publish(new OrderPlaced('o-1', '1'), { id });
      await bus.publish(new OrderPlaced('o-1', '1'), { id });
      await recorder.waitForCount(1, timeout());
      await sleep(500);
      expect(recorder.received).toHaveLength(1);
    });

    it('sends a publish made while the network is cut once it is back, and goes on consuming', async (context) => {
      const given = await harness();
      if (given.cutNetwork === undefined || given.restoreNetwork === undefined) context.skip('no network to cut (harness.cutNetwork)');
      const { OrderPlaced, service } = defineEvents();
      const recorder = new Recorder();
      const bus = await startBus({ service, handlers: [handler(OrderPlaced, recorder, { name: 'Kitchen' })] });
      await bus.publish(new OrderPlaced('o-before', '1'));
      await recorder.waitForCount(1, timeout());
      await given.cutNetwork!();
      let published = false;
      const during = bus.publish(new OrderPlaced('o-during', '1')).then(() => (published = true));
      try {
        await sleep(1_000);
        expect(published).toBe(false);
      } finally {
        await given.restoreNetwork!();
      }
      await during;
      await bus.publish(new OrderPlaced('o-after', '1'));
      await recorder.waitForCount(3, timeout() * 3);
      await sleep(300);
      const ids = recorder.received.map((r) => (r.event as InstanceType<typeof OrderPlaced>).orderId).sort();
      expect(ids).toEqual(['o-after', 'o-before', 'o-during']);
    });

    it('gives clear errors for publishing after stop and for closing a transport twice', async () => {
      const { OrderPlaced, service } = defineEvents();
      const bus = await startBus({ service, handlers: [] });
      await bus.stop();
      await expect(bus.publish(new OrderPlaced('o-1', '1'))).rejects.toBeInstanceOf(BusNotStartedError);

      const transport = await (await harness()).createTransport();
      await transport.connect();
      await transport.close();
      await expect(transport.close()).rejects.toBeInstanceOf(TransportClosedError);
      await expect(
        transport.publish([{ id: 'x', type: 'dev.cloudbus.contract.closed', message: { headers: {}, body: new Uint8Array(0) } }]),
      ).rejects.toBeInstanceOf(TransportClosedError);
    });

    transportLevelCases(name, harness, run);
  });
}
