import { Buffer } from 'node:buffer';
import { randomUUID } from 'node:crypto';

import fc from 'fast-check';

import { EventBus } from '../bus/event-bus.js';
import { silentLogger, type Logger } from '../logger.js';
import { STRUCTURED_CONTENT_TYPE, type WireMessage } from '../envelope/wire-codec.js';
import { EventType, eventBrand } from '../events/event-type.js';
import { EventHandler } from '../handlers/event-handler.js';
import type { Delivery, OutgoingMessage, Subscription, SubscriptionSpec, Transport, TransportCapabilities } from '../transport/transport.js';

/**
 * Bookkeeping values forged onto an injected message, as random text: where cloudbus keeps them
 * on the wire is up to the transport (RabbitMQ `x-cloudbus-*` headers, MQTT redelivery topic
 * levels). `notBefore` is never an in-range time in the future: a forged one is indistinguishable
 * from a real delayed retry, which the transport rightly holds back.
 */
export interface ForgedBookkeeping {
  readonly attempt: string;
  readonly firstAttempt: string;
  readonly destination: string;
  readonly notBefore: string;
}

/** What {@link wireFuzz} needs from a transport's harness (a subset of `ContractHarness`). */
export interface FuzzHarness {
  createTransport(): Transport | Promise<Transport>;
  /** Publishes a raw message as a foreign producer would; resolves `false` when the broker or its client refuses it. */
  injectRaw(type: string, message: WireMessage): Promise<void | boolean>;
  /**
   * Optional: publishes a raw message with cloudbus's own bookkeeping values forged, for the
   * subscription `subscription` (`<service>.<handler>`). Resolves `false` when refused.
   */
  injectForged?(type: string, subscription: string, message: WireMessage, bookkeeping: ForgedBookkeeping): Promise<void | boolean>;
}

/** Options of one fuzz round. */
export interface WireFuzzOptions {
  /** Random messages sent (each followed by a valid event). */
  readonly runs: number;
  /** fast-check seed; the same seed sends the same messages. */
  readonly seed: number;
  /** Longest wait for everything to be settled, in ms. */
  readonly timeoutMs: number;
  /** Largest message the bus accepts; random bodies are generated at and just over it. @default 65536 */
  readonly maxMessageBytes?: number;
}

/** What a fuzz round saw; {@link wireFuzz} throws when a property does not hold. */
export interface WireFuzzReport {
  readonly injected: number;
  readonly refusedByBroker: number;
  readonly deliveries: number;
  readonly deadLettered: number;
  readonly acked: number;
  readonly nacked: number;
}

/** The environment variable that fixes the seed of every fuzz case (to rerun a failing one). */
export const FUZZ_SEED_VARIABLE = 'CLOUDBUS_FUZZ_SEED';
/** The environment variable that sets the number of random messages per fuzz case. */
export const FUZZ_RUNS_VARIABLE = 'CLOUDBUS_FUZZ_RUNS';

/** The seed to use: {@link FUZZ_SEED_VARIABLE} when set, a random one otherwise. */
export function fuzzSeed(): number {
  const fixed = process.env[FUZZ_SEED_VARIABLE];
  if (fixed !== undefined && fixed !== '') {
    const seed = Number(fixed);
    if (!Number.isSafeInteger(seed)) throw new Error(`${FUZZ_SEED_VARIABLE} must be an integer, got '${fixed}'.`);
    return seed;
  }
  return Math.floor(Math.random() * 0x7fffffff);
}

/** The number of random messages: {@link FUZZ_RUNS_VARIABLE} when set, `fallback` otherwise. */
export function fuzzRuns(fallback: number): number {
  const runs = Number(process.env[FUZZ_RUNS_VARIABLE] ?? fallback);
  return Number.isSafeInteger(runs) && runs > 0 ? runs : fallback;
}

/** One random message: raw, or with forged bookkeeping. */
interface RandomMessage {
  readonly message: WireMessage;
  readonly forged: ForgedBookkeeping | undefined;
}

const ATTRIBUTE_NAMES = ['specversion', 'id', 'source', 'type', 'time', 'subject', 'datacontenttype', 'dataschema', 'dataversion', 'correlationid', 'replayfor', 'deadletterreason', 'constructor', '__proto__'];

function arbitraries(type: string, maxMessageBytes: number) {
  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('', '1.0', type, '/source', '2026-01-01T00:00:00Z', 'application/json', STRUCTURED_CONTENT_TYPE, 'a\nb', '\u0000', '\ud800', 'x'.repeat(5_000)),
  );
  const name = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ATTRIBUTE_NAMES) }, { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9]{1,20}$/) }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) });
  const headers = fc.oneof(
    { weight: 6, arbitrary: fc.dictionary(name, text, { maxKeys: 12 }) },
    // Valid attributes, then random ones on top.
    { weight: 6, arbitrary: fc.dictionary(name, text, { maxKeys: 6 }).map((extra) => ({ specversion: '1.0', id: randomId(), source: '/fuzz', type, ...extra })) },
    // Many extensions.
    { weight: 1, arbitrary: fc.integer({ min: 90, max: 300 }).map((count) => ({ specversion: '1.0', id: randomId(), source: '/fuzz', type, ...Object.fromEntries(Array.from({ length: count }, (_, i) => [`ext${i}`, 'v'])) })) },
  );
  const nested = (depth: number, object: boolean): string => {
    let json = '1';
    for (let level = 0; level < depth; level++) json = object ? `{"orderId":"n","k":${json}}` : `[${json}]`;
    return json;
  };
  const body = fc.oneof(
    fc.constant(new Uint8Array(0)),
    fc.uint8Array({ maxLength: 200 }),
    fc.json().map((json) => Buffer.from(json)),
    fc.string({ unit: 'grapheme', maxLength: 200 }).map((value) => Buffer.from(value)),
    fc.tuple(fc.integer({ min: 1, max: 200 }), fc.boolean()).map(([depth, object]) => Buffer.from(nested(depth, object))),
    fc.constantFrom(maxMessageBytes - 1, maxMessageBytes, maxMessageBytes + 1).map((size) => Buffer.alloc(size, 0x61)),
    // A structured event with random attributes and data.
    fc.tuple(fc.dictionary(name, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 6 }), fc.jsonValue()).map(([extra, data]) =>
      Buffer.from(JSON.stringify({ specversion: '1.0', id: randomId(), source: '/fuzz', type, ...extra, data })),
    ),
    fc.constantFrom('{"inner":{"__pr\\u006fto__":{"isAdmin":true}}}', '{"a":{"constructor":{"prototype":1}}}', '{"orderId":"o","total":"1"}').map((json) => Buffer.from(json)),
  );
  const contentType = fc.option(fc.oneof(fc.constantFrom('application/json', STRUCTURED_CONTENT_TYPE, 'text/plain', 'application/octet-stream', 'application/cloudevents-batch+json'), text), { nil: undefined });
  const message = fc.record({ headers, contentType, body }).map(({ headers, contentType, body }): WireMessage => ({ headers, contentType, body }));
  const level = fc.oneof(
    fc.constantFrom('1', '0', '-1', '1e300', '9000000000000000', '99999999999999999999', 'NaN', '', '%', 'a/b', String(Date.now() - 60_000), String(Number.MAX_SAFE_INTEGER)),
    fc.string({ maxLength: 20 }),
  );
  const notBefore = fc.oneof(fc.constantFrom('0', '-1', '1e300', '9000000000000000', 'soon', '', String(Date.now() - 1_000)), fc.string({ maxLength: 20 }));
  const forged = fc.record({ attempt: level, firstAttempt: level, destination: fc.oneof(level, fc.constantFrom('orders\nforged', 'x'.repeat(2_000))), notBefore });
  return fc.record({ message, forged: fc.option(forged, { nil: undefined, freq: 3 }) }).map((value): RandomMessage => value);
}

let idSequence = 0;
function randomId(): string {
  return `fuzz-${++idSequence}`;
}

/** Counts what core does with every delivery of the transport it wraps. */
class CountingTransport implements Transport {
  readonly name: string;
  deliveries = 0;
  acked = 0;
  nacked = 0;
  deadLettered = 0;
  /** Settlements called (ack, nack or dead letter), and those whose promise failed. */
  settled = 0;
  settleFailures: string[] = [];
  doubleSettled = 0;

  constructor(readonly inner: Transport) {
    this.name = inner.name;
  }

  get capabilities(): TransportCapabilities {
    return this.inner.capabilities;
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  publish(messages: readonly OutgoingMessage[]): Promise<void> {
    return this.inner.publish(messages);
  }

  subscribe(spec: SubscriptionSpec, onDelivery: (delivery: Delivery) => void): Promise<Subscription> {
    return this.inner.subscribe(spec, (delivery) => {
      this.deliveries++;
      onDelivery(new CountingDelivery(delivery, this));
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

class CountingDelivery implements Delivery {
  #done = false;
  constructor(
    readonly inner: Delivery,
    readonly counts: CountingTransport,
  ) {}
  get message(): WireMessage {
    return this.inner.message;
  }
  get attempt(): number {
    return this.inner.attempt;
  }
  get firstAttemptAt(): number {
    return this.inner.firstAttemptAt;
  }
  get destination(): string {
    return this.inner.destination;
  }
  get ignored(): readonly string[] | undefined {
    return this.inner.ignored;
  }
  ack(): Promise<void> {
    return this.#settle('ack', () => this.inner.ack());
  }
  nack(delayMs: number): Promise<void> {
    return this.#settle('nack', () => this.inner.nack(delayMs));
  }
  deadLetter(message: WireMessage): Promise<void> {
    return this.#settle('dead-letter', () => this.inner.deadLetter(message));
  }
  #settle(kind: 'ack' | 'nack' | 'dead-letter', settle: () => Promise<void>): Promise<void> {
    const counts = this.counts;
    if (this.#done) counts.doubleSettled++;
    this.#done = true;
    const result = settle();
    result.then(
      () => {
        counts.settled++;
        if (kind === 'ack') counts.acked++;
        else if (kind === 'nack') counts.nacked++;
        else counts.deadLettered++;
      },
      (error: unknown) => counts.settleFailures.push(`${kind}: ${error instanceof Error ? error.message : String(error)}`),
    );
    return result;
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * Sends `runs` random messages through the harness's raw injection hooks, each followed by a valid
 * event, to one subscription, and checks the decode-and-settle path is total:
 * - no uncaught exception or unhandled rejection in the process;
 * - every valid event handled exactly once;
 * - every random message the broker took settled once: dead-lettered, or handled (when it happens
 *   to be a valid event); none is nacked, so redeliveries stay bounded;
 * - nothing left unsettled: every delivery handed to core got exactly one settlement, which succeeded.
 * Throws an `Error` naming the seed when a property fails.
 */
export async function wireFuzz(harness: FuzzHarness, options: WireFuzzOptions): Promise<WireFuzzReport> {
  const maxMessageBytes = options.maxMessageBytes ?? 65_536;
  const run = `f${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
  const type = `dev.cloudbus.fuzz.${run}.order.placed`;
  class FuzzOrder {
    declare readonly [eventBrand]: string;
    constructor(
      readonly orderId: string,
      readonly total: string,
    ) {}
  }
  EventType(type)(FuzzOrder);
  const handled = new Map<string, number>();
  let otherHandled = 0;
  class FuzzHandler {
    handle(event: FuzzOrder): void {
      const id = typeof event?.orderId === 'string' ? event.orderId : '';
      if (id.startsWith(`${run}-valid-`)) handled.set(id, (handled.get(id) ?? 0) + 1);
      else otherHandled++;
    }
  }
  EventHandler(FuzzOrder, { name: 'Fuzz' })(FuzzHandler);
  const service = `${run}-svc`;

  const problems: string[] = [];
  const onError = (error: unknown) => problems.push(`uncaught: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  const logged: string[] = [];
  const logger: Logger = { ...silentLogger, error: (message) => logged.push(message) };
  const transport = new CountingTransport(await harness.createTransport());
  const bus = new EventBus({ service, transport, handlers: [FuzzHandler], logger, maxMessageBytes });
  const samples = fc.sample(arbitraries(type, maxMessageBytes), { seed: options.seed, numRuns: options.runs });
  let injected = 0;
  let refusedByBroker = 0;
  try {
    await bus.start();
    const subscription = `${service}.Fuzz`;
    for (let i = 0; i < samples.length; i++) {
      const { message, forged } = samples[i]!;
      let accepted: void | boolean;
      try {
        accepted = await within(
          forged !== undefined && harness.injectForged !== undefined
            ? harness.injectForged(type, subscription, message, forged)
            : harness.injectRaw(type, message),
          options.timeoutMs,
          `injecting random message ${i}`,
        );
      } catch (error) {
        if (error instanceof Error && error.message.includes('did not settle')) throw error;
        accepted = false; // the client library refused it (a header name it cannot write, say)
      }
      if (accepted === false) refusedByBroker++;
      else injected++;
      await bus.publish(new FuzzOrder(`${run}-valid-${i}`, String(i)));
    }
    const expected = injected + samples.length;
    const deadline = Date.now() + options.timeoutMs;
    while (transport.settled + transport.settleFailures.length < expected && problems.length === 0) {
      if (Date.now() > deadline) {
        problems.push(`only ${transport.settled} of ${expected} messages settled within ${options.timeoutMs} ms (${transport.deliveries} deliveries)`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await bus.stop({ drainTimeoutMs: 1_000 }).catch((error: unknown) => problems.push(`stop failed: ${String(error)}`));
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  }
  const wrong: string[] = [];
  for (let i = 0; i < samples.length; i++) {
    const count = handled.get(`${run}-valid-${i}`) ?? 0;
    if (count !== 1) wrong.push(`${i} (${count} times)`);
  }
  if (wrong.length > 0) problems.push(`${wrong.length} valid events not handled exactly once: ${wrong.slice(0, 10).join(', ')}${wrong.length > 10 ? ', …' : ''}`);
  if (transport.settleFailures.length > 0) problems.push(`settlements failed: ${transport.settleFailures.slice(0, 5).join('; ')}`);
  if (transport.doubleSettled > 0) problems.push(`${transport.doubleSettled} deliveries settled twice`);
  if (transport.nacked > 0) problems.push(`${transport.nacked} deliveries nacked (a redelivery loop in the making)`);
  if (transport.settled !== transport.deliveries) problems.push(`${transport.deliveries - transport.settled} deliveries left unsettled`);
  // Acks beyond the valid events: random messages that happened to be valid events (handled) or replays for another handler (skipped).
  const randomAcked = transport.acked - samples.length;
  if (transport.deadLettered + randomAcked !== injected) {
    problems.push(`${injected} random messages taken by the broker, but ${transport.deadLettered} dead-lettered and ${randomAcked} acked (${otherHandled} handled)`);
  }
  if (logged.length > 0) problems.push(`errors logged: ${logged.slice(0, 5).join('; ')}`);
  if (problems.length > 0) {
    throw new Error(`wire fuzz failed with seed ${options.seed} (rerun: ${FUZZ_SEED_VARIABLE}=${options.seed}):\n- ${problems.join('\n- ')}`);
  }
  return { injected, refusedByBroker, deliveries: transport.deliveries, deadLettered: transport.deadLettered, acked: transport.acked, nacked: transport.nacked };
}
