import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { EventBus, EventHandler, EventType, PublishError, eventBrand, silentLogger, type EventContext } from '@cloudbus/core';
import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { RabbitMqTransport } from './rabbitmq-transport.js';
import { BrokerAdmin, mergeTopologies } from './testing/broker-admin.js';
import { brokerControl } from './testing/broker-control.js';

const url = brokerUrl('rabbitmq');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe.skipIf(!url)('rabbitmq transport under faults', () => {
  const run = uniqueName('cbd');
  const transports: RabbitMqTransport[] = [];
  const options = {
    url: url!,
    exchange: `${run}.events`,
    deadLetterQueue: `${run}.deadletter`,
    retryPrefix: `${run}.retry`,
    queuePrefix: `${run}.`,
  };

  function transport(): RabbitMqTransport {
    const created = new RabbitMqTransport({ ...options, logger: silentLogger, reconnectMinDelayMs: 200, reconnectMaxDelayMs: 1_000, publishBufferTimeoutMs: 120_000 });
    transports.push(created);
    return created;
  }

  async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
      await sleep(50);
    }
  }

  afterAll(async () => {
    await brokerControl.ensureRunning();
    const admin = new BrokerAdmin(url!);
    await admin.delete(mergeTopologies(transports.map((created) => created.declaredTopology())));
    await admin.close();
  });

  it('handles every confirmed message of a 10,000-message stream when the broker restarts in the middle', async () => {
    const type = `dev.cloudbus.faults.${run}.restart`;
    class OrderPlaced {
      declare readonly [eventBrand]: string;
      constructor(readonly orderId: string) {}
    }
    EventType(type)(OrderPlaced);
    const handled = new Set<string>();
    class Counter {
      handle(event: OrderPlaced, _context: EventContext): void {
        handled.add(event.orderId);
      }
    }
    EventHandler(OrderPlaced, { name: 'Counter', concurrency: 64 })(Counter);
    const bus = new EventBus({ service: `${run}-restart`, handlers: [Counter], transport: transport(), logger: silentLogger });
    await bus.start();

    const total = 10_000;
    const batchSize = 100;
    const confirmed = new Set<string>();
    let rejectedBatches = 0;
    let restart: Promise<void> | undefined;
    let confirmedWhenStopped = -1;
    try {
      for (let start = 0; start < total; start += batchSize) {
        if (start === 3_000) {
          // Down before the stream goes on: publishing is fast enough to finish before a stop
          // that runs beside it takes effect.
          await brokerControl.stopApp();
          confirmedWhenStopped = confirmed.size;
          restart = (async () => {
            await sleep(1_000);
            await brokerControl.startApp();
          })();
        }
        const ids = Array.from({ length: batchSize }, (_, i) => `o-${start + i}`);
        // Publish until the broker confirms the batch: a PublishError means "not confirmed", so publish again.
        for (;;) {
          try {
            await bus.publish(ids.map((id) => new OrderPlaced(id)));
            break;
          } catch (error) {
            expect(error).toBeInstanceOf(PublishError);
            rejectedBatches++;
            await sleep(200);
          }
        }
        for (const id of ids) confirmed.add(id);
      }
      await restart;
      // The broker really went down in the middle of the stream, not before or after it.
      expect(confirmedWhenStopped).toBeGreaterThanOrEqual(3_000);
      expect(confirmedWhenStopped).toBeLessThan(total);
      await until(() => handled.size >= total, `${total} distinct events handled (have ${handled.size})`, 180_000);
      expect([...confirmed].filter((id) => !handled.has(id))).toEqual([]);
      expect(handled.size).toBe(total);
    } finally {
      await restart?.catch(() => {});
      await brokerControl.ensureRunning();
      await bus.stop({ drainTimeoutMs: 1_000 }).catch(() => {});
    }
    console.info(`[restart test] broker stopped after ${confirmedWhenStopped} confirmed; batches rejected and published again: ${rejectedBatches}`);
  });

  describe('a consumer process killed mid-handle', () => {
    beforeAll(async () => {
      // The consumer process runs the built package.
      await promisify(execFile)('npx', ['tsc', '-b', 'tsconfig.build.json'], { cwd: packageDir, timeout: 240_000 });
    });

    it('has its message redelivered to a new consumer, as the next attempt', async () => {
      const type = `dev.cloudbus.faults.${run}.kill`;
      const service = `${run}-kill`;
      let child: ChildProcess | undefined;
      try {
        child = spawn(process.execPath, ['dist/testing/consumer-process.js'], {
          cwd: packageDir,
          env: { ...process.env, CLOUDBUS_TEST_CONSUMER: JSON.stringify({ type, service, options }) },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        await until(() => output.includes('ready'), 'the consumer process to subscribe', 60_000);

        class OrderPlaced {
          declare readonly [eventBrand]: string;
          constructor(readonly orderId: string) {}
        }
        EventType(type)(OrderPlaced);
        const received: { orderId: string; attempt: number }[] = [];
        class Oven {
          handle(event: OrderPlaced, context: EventContext): void {
            received.push({ orderId: event.orderId, attempt: context.attempt });
          }
        }
        EventHandler(OrderPlaced, { name: 'Oven', concurrency: 1 })(Oven);
        const publisher = new EventBus({ service: `${run}-kill-publisher`, handlers: [], transport: transport(), logger: silentLogger });
        await publisher.start();
        await publisher.publish(new OrderPlaced('o-killed'));
        await until(() => output.includes('handling o-killed 1'), 'the consumer process to start handling', 30_000);

        child.kill('SIGKILL');
        await new Promise((resolve) => child!.once('exit', resolve));

        const successor = new EventBus({ service, handlers: [Oven], transport: transport(), logger: silentLogger });
        await successor.start();
        await until(() => received.length >= 1, 'the redelivery to the new consumer', 60_000);
        expect(received[0]).toEqual({ orderId: 'o-killed', attempt: 2 });
        await sleep(500);
        expect(received).toHaveLength(1);
        await successor.stop();
        await publisher.stop();
      } finally {
        if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    });
  });
});
