/**
 * cloudbus benchmarks. Every figure is reported next to a baseline measured in the same run, on
 * the same machine, because absolute numbers on shared machines drift.
 *
 *   pnpm bench            full run
 *   pnpm bench --quick    fewer events and repeats
 *
 * In memory: publish-to-handle throughput of the bus on the in-memory transport, against a plain
 * EventEmitter dispatching the same event objects to the same handler (the floor no bus beats),
 * and the per-event cost of the envelope (build, encode, decode) against JSON.stringify/parse.
 */
import 'reflect-metadata';

import { EventEmitter } from 'node:events';

import {
  EventBus,
  EventHandler,
  EventType,
  MemoryBroker,
  MemoryTransport,
  decodeCloudEvent,
  encodeCloudEvent,
  type CloudEvent,
} from '@cloudbus/core';

import { formatNumber, repeat, type Summary } from './stats.js';

const quick = process.argv.includes('--quick');
const EVENTS = quick ? 20_000 : 100_000;
const REPEATS = quick ? 3 : 5;
const BATCH = 500;

@EventType('com.mariopizzeria.order.placed', { version: 1, subject: (e: OrderPlaced) => e.orderId })
class OrderPlaced {
  constructor(
    readonly orderId: string,
    readonly customerId: string,
    readonly items: readonly { pizza: string; size: string; quantity: number }[],
    readonly total: string,
    readonly deliveryAddress: string,
  ) {}
}

/** A ~300-byte JSON payload, as the broker benchmarks use. */
function sampleEvent(i: number): OrderPlaced {
  return new OrderPlaced(
    `order-${i}`,
    'customer-4711',
    [
      { pizza: 'Margherita', size: 'large', quantity: 2 },
      { pizza: 'Quattro Formaggi', size: 'medium', quantity: 1 },
    ],
    '41.97',
    '12 Via Roma, 00184 Roma, Italia, 3rd floor, ring twice',
  );
}

let handled = 0;
let onAllHandled: (() => void) | undefined;
let target = 0;

function countHandled(): void {
  handled++;
  if (handled === target) onAllHandled?.();
}

@EventHandler(OrderPlaced, { concurrency: 256 })
class Counter {
  handle(): void {
    countHandled();
  }
}

async function busThroughput(events: readonly OrderPlaced[]): Promise<number> {
  const bus = new EventBus({ service: 'bench', transport: new MemoryTransport({ broker: new MemoryBroker() }), handlers: [Counter] });
  await bus.start();
  handled = 0;
  target = events.length;
  const done = new Promise<void>((resolve) => (onAllHandled = resolve));
  const started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) await bus.publish(events.slice(i, i + BATCH));
  await done;
  const seconds = (performance.now() - started) / 1000;
  await bus.stop();
  return events.length / seconds;
}

async function emitterThroughput(events: readonly OrderPlaced[]): Promise<number> {
  const emitter = new EventEmitter();
  emitter.on('order.placed', countHandled);
  handled = 0;
  target = events.length;
  const done = new Promise<void>((resolve) => (onAllHandled = resolve));
  const started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    // Same batching and one turn of the event loop per batch, as the bus gets.
    for (let j = i; j < Math.min(i + BATCH, events.length); j++) emitter.emit('order.placed', events[j]);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await done;
  return events.length / ((performance.now() - started) / 1000);
}

function microsPerOp(count: number, op: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < count; i++) op(i);
  return ((performance.now() - started) * 1000) / count;
}

function envelopeCosts(events: readonly OrderPlaced[]) {
  const cloudEvent: CloudEvent = {
    specversion: '1.0',
    id: '6f1c2d3e-1111-4222-8333-944445555666',
    source: '/bench',
    type: 'com.mariopizzeria.order.placed',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    subject: 'order-1',
    correlationid: '6f1c2d3e-1111-4222-8333-944445555666',
    dataversion: 1,
    data: events[0],
  };
  const binary = encodeCloudEvent(cloudEvent, 'binary');
  const structured = encodeCloudEvent(cloudEvent, 'structured');
  const json = JSON.stringify(events[0]);
  const n = events.length;
  return {
    jsonStringify: microsPerOp(n, (i) => JSON.stringify(events[i])),
    jsonParse: microsPerOp(n, () => JSON.parse(json)),
    encodeBinary: microsPerOp(n, (i) => encodeCloudEvent({ ...cloudEvent, data: events[i] }, 'binary')),
    decodeBinary: microsPerOp(n, () => decodeCloudEvent(binary)),
    encodeStructured: microsPerOp(n, (i) => encodeCloudEvent({ ...cloudEvent, data: events[i] }, 'structured')),
    decodeStructured: microsPerOp(n, () => decodeCloudEvent(structured)),
    payloadBytes: Buffer.byteLength(json),
  };
}

function row(name: string, summary: Summary, unit: string, digits = 0): string {
  return `| ${name} | ${formatNumber(summary.median, digits)} ${unit} | ${formatNumber(summary.min, digits)} – ${formatNumber(summary.max, digits)} | ±${formatNumber((summary.spread * 100) / 2, 1)} % |`;
}

async function main(): Promise<void> {
  console.log(`cloudbus benchmarks (${quick ? 'quick' : 'full'}): ${formatNumber(EVENTS)} events, ${REPEATS} runs each, median and range\n`);
  const events = Array.from({ length: EVENTS }, (_, i) => sampleEvent(i));

  // Warm up the JIT on both paths before measuring.
  await busThroughput(events.slice(0, 5_000));
  await emitterThroughput(events.slice(0, 5_000));

  const emitter = await repeat('EventEmitter', REPEATS, () => emitterThroughput(events));
  const bus = await repeat('cloudbus memory', REPEATS, () => busThroughput(events));

  const costs: Record<string, number[]> = {};
  await repeat('envelope', REPEATS, () => {
    for (const [name, value] of Object.entries(envelopeCosts(events))) (costs[name] ??= []).push(value);
    return 0;
  });
  const median = (name: string) => [...costs[name]!].sort((a, b) => a - b)[Math.floor(costs[name]!.length / 2)]!;

  console.log('| scenario | median | range | spread |');
  console.log('| --- | --- | --- | --- |');
  console.log(row('EventEmitter, in process (floor)', emitter, 'events/s'));
  console.log(row('cloudbus, memory transport, publish to handled', bus, 'events/s'));
  const perEventBus = 1e6 / bus.median;
  const perEventEmitter = 1e6 / emitter.median;
  console.log(`\nPer event: cloudbus ${formatNumber(perEventBus, 2)} µs, EventEmitter ${formatNumber(perEventEmitter, 2)} µs, overhead ${formatNumber(perEventBus - perEventEmitter, 2)} µs.`);
  console.log(`\nEnvelope cost per event (${median('payloadBytes')}-byte JSON payload), µs:`);
  console.log('| operation | cloudbus | JSON baseline |');
  console.log('| --- | --- | --- |');
  console.log(`| encode, binary mode | ${formatNumber(median('encodeBinary'), 2)} | ${formatNumber(median('jsonStringify'), 2)} (JSON.stringify) |`);
  console.log(`| decode + validate, binary mode | ${formatNumber(median('decodeBinary'), 2)} | ${formatNumber(median('jsonParse'), 2)} (JSON.parse) |`);
  console.log(`| encode, structured mode | ${formatNumber(median('encodeStructured'), 2)} | ${formatNumber(median('jsonStringify'), 2)} (JSON.stringify) |`);
  console.log(`| decode + validate, structured mode | ${formatNumber(median('decodeStructured'), 2)} | ${formatNumber(median('jsonParse'), 2)} (JSON.parse) |`);
  console.log(`\nratio memory ${Math.round(bus.median)} / ${Math.round(emitter.median)} = ${(bus.median / emitter.median).toFixed(3)}`);
}

await main();
