/**
 * cloudbus benchmarks. Every figure is reported next to a baseline measured in the same run, on
 * the same machine, because absolute numbers on shared machines drift.
 *
 *   pnpm bench                         full run
 *   pnpm bench --quick                 fewer messages, one window, 3 runs each (under two minutes)
 *   pnpm bench --only=nats,memory      some groups: memory, envelope, heap, rabbitmq, nats, mqtt
 *
 * Brokers: RABBITMQ_URL, NATS_URL, MQTT_URL, else the local default ports; a broker that does not
 * answer is skipped (and said so). Progress goes to stderr, results to stdout: one table, then
 * ratio lines: per broker `ratio <transport> <cloudbus msgs/s> / <baseline msgs/s> = <ratio>` for
 * the batch publish style and `ratio <transport> per-call ...` for one `publish(event)` per event.
 */
import 'reflect-metadata';

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg } from 'node:os';

import { cloudbusMqtt, rawMqtt } from './brokers/mqtt.js';
import { moleculerChannels } from './brokers/moleculer-channels.js';
import { cloudbusNats, rawJetStream } from './brokers/nats.js';
import { rascalContender } from './brokers/rascal.js';
import { cloudbusRabbitMq, rawAmqplib } from './brokers/rabbitmq.js';
import type { Contender } from './contender.js';
import { envelopeCosts, type EnvelopeCosts } from './envelope-cost.js';
import { cloudbusDispatcher } from './in-memory/cloudbus-dispatcher.js';
import { dispatchThroughput, type Dispatcher } from './in-memory/dispatch-run.js';
import { eventEmitterDispatcher } from './in-memory/event-emitter-dispatcher.js';
import { moleculerDispatcher } from './in-memory/moleculer-dispatcher.js';
import { nestCqrsDispatcher } from './in-memory/nest-cqrs-dispatcher.js';
import { memoryTrend } from './memory-flatness.js';
import { orderPlaced } from './order-placed.js';
import { formatNumber, summarize, type Summary } from './stats.js';
import type { RunResult } from './windowed-run.js';

const GROUPS = ['memory', 'envelope', 'heap', 'rabbitmq', 'nats', 'mqtt'] as const;
type Group = (typeof GROUPS)[number];

const quick = process.argv.includes('--quick');
const onlyArgument = process.argv.find((argument) => argument.startsWith('--only='));
const isGroup = (name: string): name is Group => (GROUPS as readonly string[]).includes(name);
const only = new Set<Group>();
for (const name of onlyArgument === undefined ? GROUPS : onlyArgument.slice('--only='.length).split(',')) {
  if (!isGroup(name)) throw new Error(`--only: unknown group '${name}'; groups: ${GROUPS.join(', ')}`);
  only.add(name);
}

/** Sizes of a run. */
const settings = quick
  ? { repeats: 3, inMemoryEvents: 20_000, brokerMessages: 4_000, slowPeerMessages: 1_000, windows: [100], heapRounds: 8, heapEvents: 20_000 }
  : { repeats: 5, inMemoryEvents: 100_000, brokerMessages: 20_000, slowPeerMessages: 3_000, windows: [100, 500], heapRounds: 20, heapEvents: 100_000 };
/** The window the targets are set at, and the ratio lines report. */
const TARGET_WINDOW = 100;
/** Throughput target at {@link TARGET_WINDOW}, as a fraction of the raw client's, in both publish styles. */
const THROUGHPUT_TARGET = 0.95;
/** p99 latency target at {@link TARGET_WINDOW}, as a multiple of the raw client's. */
const P99_TARGET = 1.25;
/** RabbitMQ's throughput target at 500 in flight (full run only). */
const RABBITMQ_500_TARGET = 0.9;

const BROKER_URLS = {
  rabbitmq: process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672',
  nats: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
  mqtt: process.env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883',
};

function progress(text: string): void {
  process.stderr.write(`\r  ${text}`.padEnd(78) + '\r');
}

/** A row of the result table. */
interface Row {
  readonly group: string;
  readonly name: string;
  readonly throughput?: Summary;
  readonly p50?: Summary;
  readonly p99?: Summary;
  readonly cpuMicros?: Summary;
  /** Free text for rows that are not throughputs (envelope µs, memory growth). */
  readonly value?: string;
  readonly range?: string;
  /** Against the group's baseline: msgs/s ratio (and p99 ratio). */
  readonly versus?: string;
}

const rows: Row[] = [];
const ratioLines: string[] = [];
const verdicts: string[] = [];
const notes: string[] = [];

function isListening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// In memory

async function inMemory(): Promise<void> {
  const events = Array.from({ length: settings.inMemoryEvents }, (_, i) => orderPlaced(i));
  const dispatchers: (() => Dispatcher)[] = [eventEmitterDispatcher, cloudbusDispatcher, nestCqrsDispatcher, moleculerDispatcher];
  // Warm up the JIT on every path before measuring.
  for (const create of dispatchers) await dispatchThroughput(create(), events.slice(0, 5_000));
  const samples = dispatchers.map(() => [] as number[]);
  for (let run = 0; run < settings.repeats; run++) {
    for (const [index, create] of dispatchers.entries()) {
      const dispatcher = create();
      progress(`in memory: ${dispatcher.name}, run ${run + 1}/${settings.repeats}`);
      samples[index]!.push(await dispatchThroughput(dispatcher, events));
    }
  }
  const summaries = samples.map(summarize);
  const floor = summaries[0]!;
  const cloudbus = summaries[1]!;
  for (const [index, create] of dispatchers.entries()) {
    const summary = summaries[index]!;
    rows.push({
      group: 'in memory',
      name: create().name,
      throughput: summary,
      versus: index === 1 ? `${(summary.median / floor.median).toFixed(3)} of the floor` : index === 0 ? 'floor' : `cloudbus ${(cloudbus.median / summary.median).toFixed(2)}x`,
    });
  }
  const peersBeaten = summaries.slice(2).every((peer) => cloudbus.median > peer.median);
  verdicts.push(`in memory: cloudbus ${peersBeaten ? 'dispatches faster than' : 'does NOT beat'} @nestjs/cqrs and Moleculer (target: faster than both)`);
  notes.push(
    `in memory, per event: cloudbus ${formatNumber(1e6 / cloudbus.median, 2)} µs, EventEmitter ${formatNumber(1e6 / floor.median, 2)} µs: cloudbus adds ${formatNumber(1e6 / cloudbus.median - 1e6 / floor.median, 2)} µs`,
  );
  ratioLines.push(`ratio memory ${Math.round(cloudbus.median)} / ${Math.round(floor.median)} = ${(cloudbus.median / floor.median).toFixed(3)}`);
}

// ---------------------------------------------------------------------------------------------
// Envelope

async function envelope(): Promise<void> {
  const events = Array.from({ length: settings.inMemoryEvents }, (_, i) => orderPlaced(i));
  envelopeCosts(events.slice(0, 5_000));
  const costs: EnvelopeCosts[] = [];
  for (let run = 0; run < settings.repeats; run++) {
    progress(`envelope: run ${run + 1}/${settings.repeats}`);
    costs.push(envelopeCosts(events));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const of = (key: keyof EnvelopeCosts) => summarize(costs.map((cost) => cost[key]));
  const bytes = of('payloadBytes').median;
  const line = (name: string, key: keyof EnvelopeCosts, baseline: keyof EnvelopeCosts, baselineName: string) => {
    const summary = of(key);
    const base = of(baseline);
    rows.push({
      group: `envelope (${bytes}-byte data)`,
      name,
      value: `${formatNumber(summary.median, 2)} µs/event`,
      range: `${formatNumber(summary.min, 2)} – ${formatNumber(summary.max, 2)}`,
      versus: `${baselineName} ${formatNumber(base.median, 2)} µs`,
    });
  };
  line('encode, binary mode', 'encodeBinary', 'jsonStringify', 'JSON.stringify');
  line('decode + validate, binary mode', 'decodeBinary', 'jsonParse', 'JSON.parse');
  line('decode + validate, binary mode, forbidden-key walk (data with a \\u escape)', 'decodeBinaryKeyWalk', 'decodeBinary', 'without the walk');
  line('encode, structured mode', 'encodeStructured', 'jsonStringify', 'JSON.stringify');
  line('decode + validate, structured mode', 'decodeStructured', 'jsonParse', 'JSON.parse');
}

// ---------------------------------------------------------------------------------------------
// Memory over a long run

async function heap(): Promise<void> {
  const events = Array.from({ length: settings.heapEvents }, (_, i) => orderPlaced(i));
  const trend = await memoryTrend(cloudbusDispatcher(), events, settings.heapRounds);
  const mib = (bytes: number) => formatNumber(bytes / 1_048_576, 1);
  rows.push({
    group: `memory, ${formatNumber(trend.events)} events through one bus`,
    name: 'cloudbus, memory transport: live heap after GC',
    value: `${formatNumber(trend.heapBytesPerEvent, 3)} bytes/event`,
    range: `${trend.samples} samples`,
    versus: 'flat = 0',
  });
  rows.push({
    group: `memory, ${formatNumber(trend.events)} events through one bus`,
    name: 'cloudbus, memory transport: RSS',
    value: `${formatNumber(trend.rssBytesPerEvent, 3)} bytes/event`,
    range: `${mib(trend.rssStart)} → ${mib(trend.rssEnd)} MiB`,
    versus: 'flat = 0',
  });
  const flat = trend.heapBytesPerEvent < 1;
  verdicts.push(`memory: live heap ${flat ? 'flat' : 'GROWS'} over ${formatNumber(trend.events)} events (${formatNumber(trend.heapBytesPerEvent, 3)} bytes/event; target: no growth per message)`);
}

// ---------------------------------------------------------------------------------------------
// Brokers

interface BrokerScenario {
  readonly transport: 'rabbitmq' | 'nats' | 'mqtt';
  /** The raw client: the baseline of the ratio. */
  readonly baseline: Contender;
  /** cloudbus with its defaults (the transport's preferred content mode: binary, structured on MQTT), one `publish(events)` per top-up. */
  readonly cloudbus: Contender;
  /** The same, with one `publish(event)` call per event, all in flight at once. */
  readonly perCall: Contender;
  /**
   * References that explain the gap (the raw client carrying the same CloudEvents headers as
   * cloudbus in binary mode, cloudbus in the other content mode) and peer frameworks at a comparable guarantee, each
   * with the message count to give it.
   */
  readonly others: readonly { readonly contender: Contender; readonly messages: number }[];
}

function scenarios(): BrokerScenario[] {
  const { rabbitmq, nats, mqtt } = BROKER_URLS;
  const all = settings.brokerMessages;
  return [
    {
      transport: 'rabbitmq',
      baseline: rawAmqplib(rabbitmq),
      cloudbus: cloudbusRabbitMq(rabbitmq),
      perCall: cloudbusRabbitMq(rabbitmq, undefined, 'per-call'),
      others: [
        { contender: rawAmqplib(rabbitmq, true), messages: all },
        { contender: cloudbusRabbitMq(rabbitmq, 'structured'), messages: all },
        { contender: rascalContender(rabbitmq), messages: settings.slowPeerMessages },
      ],
    },
    {
      transport: 'nats',
      baseline: rawJetStream(nats),
      cloudbus: cloudbusNats(nats),
      perCall: cloudbusNats(nats, undefined, 'per-call'),
      others: [
        { contender: rawJetStream(nats, true), messages: all },
        { contender: cloudbusNats(nats, 'structured'), messages: all },
        { contender: moleculerChannels(nats), messages: all },
      ],
    },
    {
      transport: 'mqtt',
      baseline: rawMqtt(mqtt),
      cloudbus: cloudbusMqtt(mqtt),
      perCall: cloudbusMqtt(mqtt, undefined, 'per-call'),
      others: [
        { contender: rawMqtt(mqtt, true), messages: all },
        { contender: cloudbusMqtt(mqtt, 'binary'), messages: all },
      ],
    },
  ];
}

function summarizeRuns(results: readonly RunResult[]) {
  return {
    throughput: summarize(results.map((r) => r.throughput)),
    p50: summarize(results.map((r) => r.p50)),
    p99: summarize(results.map((r) => r.p99)),
    cpuMicros: summarize(results.map((r) => r.cpuMicros)),
  };
}

/**
 * One run, tried again (up to 3 times) when it fails: on this shared machine another suite's
 * destructive test may restart the broker under it. Each failure is noted in the report.
 */
async function attempt(transport: string, contender: Contender, messages: number, window: number): Promise<RunResult> {
  for (let tries = 1; ; tries++) {
    try {
      return await contender.run(messages, window);
    } catch (error) {
      if (tries === 3) throw error;
      notes.push(`${transport}: a run of ${contender.name} failed (${error instanceof Error ? error.message : String(error)}) and was run again`);
      const url = BROKER_URLS[transport as keyof typeof BROKER_URLS];
      for (let waited = 0; waited < 60 && !(await isListening(url)); waited++) await new Promise((resolve) => setTimeout(resolve, 1_000));
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    }
  }
}

async function broker(scenario: BrokerScenario): Promise<void> {
  const url = BROKER_URLS[scenario.transport];
  if (!(await isListening(url))) {
    notes.push(`${scenario.transport}: skipped, nothing answers at ${new URL(url).host} (set ${scenario.transport.toUpperCase()}_URL)`);
    return;
  }
  const contenders = [
    { contender: scenario.baseline, messages: settings.brokerMessages },
    { contender: scenario.cloudbus, messages: settings.brokerMessages },
    { contender: scenario.perCall, messages: settings.brokerMessages },
    ...scenario.others,
  ];
  for (const window of settings.windows) {
    // Warm-up: connections, JIT, the broker's caches.
    for (const { contender, messages } of contenders) {
      progress(`${scenario.transport}, window ${window}: warm-up ${contender.name}`);
      await attempt(scenario.transport, contender, Math.min(1_000, messages), window);
    }
    const results = contenders.map(() => [] as RunResult[]);
    for (let run = 0; run < settings.repeats; run++) {
      // Alternate the order, so no one always runs on a broker just warmed (or loaded) by another.
      const order = run % 2 === 0 ? [...contenders.keys()] : [...contenders.keys()].reverse();
      for (const index of order) {
        const { contender, messages } = contenders[index]!;
        progress(`${scenario.transport}, window ${window}: ${contender.name}, run ${run + 1}/${settings.repeats}`);
        results[index]!.push(await attempt(scenario.transport, contender, messages, window));
      }
    }
    const summaries = results.map(summarizeRuns);
    const baseline = summaries[0]!;
    const group = `${scenario.transport}, ${window} in flight`;
    for (const [index, summary] of summaries.entries()) {
      const ratio = summary.throughput.median / baseline.throughput.median;
      const p99 = summary.p99.median / baseline.p99.median;
      rows.push({ group, name: contenders[index]!.contender.name, ...summary, versus: index === 0 ? 'baseline' : `${ratio.toFixed(3)} (p99 ${p99.toFixed(2)}x)` });
    }
    const styles = [
      { label: '', verdictLabel: 'batch publish', summary: summaries[1]! },
      { label: ' per-call', verdictLabel: 'publish per event', summary: summaries[2]! },
    ];
    for (const { label, verdictLabel, summary } of styles) {
      const throughputRatio = summary.throughput.median / baseline.throughput.median;
      const p99Ratio = summary.p99.median / baseline.p99.median;
      if (window === TARGET_WINDOW) {
        ratioLines.push(
          `ratio ${scenario.transport}${label} ${Math.round(summary.throughput.median)} / ${Math.round(baseline.throughput.median)} = ${throughputRatio.toFixed(3)}`,
        );
        verdicts.push(
          `${scenario.transport}, ${verdictLabel}: throughput ${throughputRatio.toFixed(3)} of raw (target ≥ ${THROUGHPUT_TARGET}: ${throughputRatio >= THROUGHPUT_TARGET ? 'met' : 'MISSED'}), ` +
            `p99 ${p99Ratio.toFixed(2)}x raw (target ≤ ${P99_TARGET}x: ${p99Ratio <= P99_TARGET ? 'met' : 'MISSED'}), ` +
            `CPU ${formatNumber(summary.cpuMicros.median, 1)} vs ${formatNumber(baseline.cpuMicros.median, 1)} µs/msg`,
        );
      } else if (window === 500 && scenario.transport === 'rabbitmq') {
        verdicts.push(
          `${scenario.transport}, ${verdictLabel}, 500 in flight: throughput ${throughputRatio.toFixed(3)} of raw ` +
            `(target ≥ ${RABBITMQ_500_TARGET}: ${throughputRatio >= RABBITMQ_500_TARGET ? 'met' : 'MISSED'})`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function versionOf(name: string): string {
  try {
    const json = JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string };
    return json.version;
  } catch {
    return '?';
  }
}

function printTable(): void {
  console.log('| scenario | contender | msgs/s (median) | range | spread | p50 ms | p99 ms | CPU µs/msg | vs baseline |');
  console.log('| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |');
  for (const row of rows) {
    if (row.throughput !== undefined) {
      const t = row.throughput;
      const latency = (s: Summary | undefined) => (s === undefined ? '' : formatNumber(s.median, 1));
      console.log(
        `| ${row.group} | ${row.name} | ${formatNumber(t.median)} | ${formatNumber(t.min)} – ${formatNumber(t.max)} | ±${formatNumber((t.spread * 100) / 2, 1)} % | ` +
          `${latency(row.p50)} | ${latency(row.p99)} | ${row.cpuMicros === undefined ? '' : formatNumber(row.cpuMicros.median, 1)} | ${row.versus ?? ''} |`,
      );
    } else {
      console.log(`| ${row.group} | ${row.name} | ${row.value ?? ''} | ${row.range ?? ''} | | | | | ${row.versus ?? ''} |`);
    }
  }
}

async function main(): Promise<void> {
  const versions = ['amqplib', '@nats-io/jetstream', 'mqtt', '@nestjs/cqrs', 'moleculer', '@moleculer/channels', 'rascal'].map((name) => `${name} ${versionOf(name)}`);
  const [load1] = loadavg();
  console.log(
    `cloudbus benchmarks (${quick ? 'quick' : 'full'}): ${settings.repeats} runs each, median, range and spread; ` +
      `Node ${process.versions.node}, ${cpus().length} CPUs, load average ${formatNumber(load1 ?? 0, 2)} at start`,
  );
  console.log(`versions: ${versions.join(', ')}`);
  console.log(
    `brokers: ${formatNumber(settings.brokerMessages)} messages per run (slow peers ${formatNumber(settings.slowPeerMessages)}), windows ${settings.windows.join(', ')}; ` +
      `in memory: ${formatNumber(settings.inMemoryEvents)} events per run\n`,
  );

  if (only.has('memory')) await inMemory();
  if (only.has('envelope')) await envelope();
  for (const scenario of scenarios()) {
    if (!only.has(scenario.transport)) continue;
    try {
      await broker(scenario);
    } catch (error) {
      notes.push(`${scenario.transport}: FAILED, no result (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (only.has('heap')) await heap();
  progress('');

  printTable();
  const [, , load15] = loadavg();
  console.log(`\nload average at the end: ${formatNumber(loadavg()[0] ?? 0, 2)} (15 min: ${formatNumber(load15 ?? 0, 2)})`);
  for (const note of notes) console.log(note);
  console.log('');
  for (const verdict of verdicts) console.log(verdict);
  console.log('');
  for (const line of ratioLines) console.log(line);
}

await main();
