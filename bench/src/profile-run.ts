/**
 * Runs one broker contender alone, for profiling (`node --cpu-prof dist/profile-run.js ...`):
 *
 *   node dist/profile-run.js <rabbitmq|nats|mqtt> <raw|batch|per-call> [messages=20000] [window=100] [runs=3]
 *
 * One warm-up run of 1,000 messages, then `runs` runs; prints each run's figures on stdout.
 */
import 'reflect-metadata';

import { cloudbusMqtt, rawMqtt } from './brokers/mqtt.js';
import { cloudbusNats, rawJetStream } from './brokers/nats.js';
import { cloudbusRabbitMq, rawAmqplib } from './brokers/rabbitmq.js';
import type { Contender } from './contender.js';

const [broker = 'mqtt', style = 'per-call', messages = '20000', window = '100', runs = '3'] = process.argv.slice(2);

const URLS: Record<string, string> = {
  rabbitmq: process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672',
  nats: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
  mqtt: process.env['MQTT_URL'] ?? 'mqtt://127.0.0.1:1883',
};

function contender(): Contender {
  const url = URLS[broker];
  if (url === undefined) throw new Error(`unknown broker '${broker}': rabbitmq, nats or mqtt`);
  if (style !== 'raw' && style !== 'batch' && style !== 'per-call') throw new Error(`unknown style '${style}': raw, batch or per-call`);
  if (broker === 'rabbitmq') return style === 'raw' ? rawAmqplib(url) : cloudbusRabbitMq(url, undefined, style);
  if (broker === 'nats') return style === 'raw' ? rawJetStream(url) : cloudbusNats(url, undefined, style);
  return style === 'raw' ? rawMqtt(url) : cloudbusMqtt(url, undefined, style);
}

const run = contender();
await run.run(1_000, Number(window));
for (let i = 0; i < Number(runs); i++) {
  const result = await run.run(Number(messages), Number(window));
  console.log(
    `${run.name}: ${Math.round(result.throughput)} msgs/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, CPU ${result.cpuMicros.toFixed(1)} µs/msg`,
  );
}
