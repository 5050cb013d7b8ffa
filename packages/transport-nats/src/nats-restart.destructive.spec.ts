import 'reflect-metadata';

import { execFileSync } from 'node:child_process';

import { EventBus, EventHandler, EventType, PublishError, encodeCloudEvent, eventBrand, silentLogger, type OutgoingMessage } from '@cloudbus/core';
import { brokerUrl, isListening, uniqueName } from '@cloudbus/test/brokers';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';

import { NatsTransport } from './nats-transport.js';
import type { NatsTransportOptions } from './nats-transport-options.js';

const url = brokerUrl('nats');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SERVER = '/usr/sbin/nats-server';

async function waitForPort(open: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await isListening('127.0.0.1', 4222)) !== open) {
    if (Date.now() > deadline) throw new Error(`NATS port 4222 did not ${open ? 'open' : 'close'} within ${timeoutMs} ms.`);
    await sleep(100);
  }
}

function stopServer(): void {
  execFileSync('start-stop-daemon', ['--stop', '--oknodo', '--retry', '30', '--exec', SERVER], { stdio: 'ignore' });
}

function startServer(): void {
  execFileSync(
    'start-stop-daemon',
    ['--start', '--oknodo', '--background', '--exec', SERVER, '--', '-a', '127.0.0.1', '-p', '4222', '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log'],
    { stdio: 'ignore' },
  );
}

describe.skipIf(!url)('nats transport across a server restart', () => {
  const name = uniqueName('natsrestart').replace(/[^A-Za-z0-9_-]/g, '_');
  const options: NatsTransportOptions = {
    url: url!,
    stream: `${name}_EVENTS`,
    deadLetterStream: `${name}_DLQ`,
    subjectPrefix: name,
    ackWaitMs: 5_000,
    reconnectTimeWaitMs: 250,
    requestTimeoutMs: 3_000,
  };

  afterAll(async () => {
    // Whatever happened, leave the server running, and remove what the test created.
    startServer();
    await waitForPort(true, 30_000);
    const nc = await connect({ servers: url! });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(options.stream!).catch(() => false);
    await jsm.streams.delete(options.deadLetterStream!).catch(() => false);
    await nc.close();
  });

  it('loses none of 10,000 events when the server restarts in the middle of the stream', async () => {
    const type = `dev.cloudbus.restart.${name}.tick`;
    class Tick {
      declare readonly [eventBrand]: string;
      constructor(readonly n: number) {}
    }
    EventType(type)(Tick);
    const seen = new Set<number>();
    let deliveries = 0;
    class TickCounter {
      async handle(event: Tick): Promise<void> {
        deliveries++;
        seen.add(event.n);
        await sleep(1);
      }
    }
    EventHandler(Tick, { name: 'Counter', concurrency: 64 })(TickCounter);
    const bus = new EventBus({ service: 'restart', transport: new NatsTransport(options, 'restart'), handlers: [TickCounter], logger: silentLogger });
    await bus.start();
    const publisher = new NatsTransport(options, 'restart-publisher');
    await publisher.connect();

    const total = 10_000;
    const batch = 100;
    let failedBatches = 0;
    let restarted = false;
    const restart = async () => {
      stopServer();
      await waitForPort(false, 30_000);
      await sleep(500);
      startServer();
      await waitForPort(true, 30_000);
      restarted = true;
    };
    let restarting: Promise<void> | undefined;
    try {
      for (let start = 0; start < total; start += batch) {
        if (start === 3_000) restarting = restart();
        const messages: OutgoingMessage[] = [];
        for (let n = start; n < start + batch; n++) {
          const id = `${name}-${n}`;
          messages.push({
            id,
            type,
            message: encodeCloudEvent({ specversion: '1.0', id, source: '/restart', type, datacontenttype: 'application/json', data: { n } }),
          });
        }
        // Publish until JetStream confirms the whole batch; ids make the retries safe.
        for (let tries = 0; ; tries++) {
          try {
            await publisher.publish(messages);
            break;
          } catch (error) {
            expect(error).toBeInstanceOf(PublishError);
            failedBatches++;
            if (tries > 100) throw error;
            await sleep(250);
          }
        }
      }
      await restarting;
      expect(restarted).toBe(true);

      const deadline = Date.now() + 120_000;
      while (seen.size < total && Date.now() < deadline) await sleep(200);
      const missing = [];
      for (let n = 0; n < total && missing.length < 10; n++) if (!seen.has(n)) missing.push(n);
      expect(missing).toEqual([]);
      expect(seen.size).toBe(total);
      expect(deliveries).toBeGreaterThanOrEqual(total);
      console.info(`[nats restart] ${failedBatches} publish batches retried, ${deliveries - total} redeliveries`);
    } finally {
      await restarting?.catch(() => {});
      await bus.stop({ drainTimeoutMs: 1_000 }).catch(() => {});
      await publisher.close().catch(() => {});
    }
  });
});
