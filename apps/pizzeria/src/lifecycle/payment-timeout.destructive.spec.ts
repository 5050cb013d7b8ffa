import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { brokerUrl, uniqueName } from '@cloudbus/test/brokers';
import { afterAll, describe, expect, it } from 'vitest';

import { EventBus, silentLogger } from '@cloudbus/core';

import type { OrderSnapshot } from '../domain/order.js';
import { deleteRabbitTopology } from '../testing/broker-cleanup.js';
import { isolate } from '../testing/broker-isolation.js';

// The built app: `pnpm build` runs before the destructive suite.
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Starts the pizzeria as a process of its own; resolves with its address once it serves HTTP. */
function startApp(args: readonly string[]): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CLOUDBUS_LOG_LEVEL: 'error' } });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the pizzeria did not start within 30 s:\n${output}`)), 30_000);
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /open at (http:\/\/[^/\s]+)\//.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ child, address: match[1]! });
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the pizzeria exited with ${String(code)}:\n${output}`));
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Every retry bucket the RabbitMQ transport may have declared (1, 1.25, ... 8 times a power of ten ms). */
function retryBuckets(prefix: string): string[] {
  const names: string[] = [];
  for (let magnitude = 1; magnitude <= 1e9; magnitude *= 10) {
    for (const step of [1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8]) names.push(`${prefix}.${Math.round(step * magnitude)}`);
  }
  return names;
}

for (const kind of ['rabbitmq', 'nats', 'mqtt'] as const) {
  const url = brokerUrl(kind);

  describe.skipIf(!url)(`the payment timeout on ${kind}`, () => {
    const isolation = isolate(kind, url!);
    const service = uniqueName('pizzeria').replace(/[^A-Za-z0-9_-]/g, '_');
    const database = join(tmpdir(), `pizzeria-${randomUUID()}.db`);
    const children: ChildProcess[] = [];

    afterAll(async () => {
      for (const child of children) await kill(child);
      if (kind === 'rabbitmq') {
        const options = isolation.transportOptions as { exchange: string; deadLetterQueue: string; retryPrefix: string; queuePrefix: string };
        // The service's queues, as the subscription registry lists them; then the run's exchanges.
        const cleaner = new EventBus({ service: `${service}-cleanup`, transport: kind, url: url!, transportOptions: isolation.transportOptions, handlers: [], logger: silentLogger });
        await cleaner.start();
        await cleaner.subscriptions.remove({ service });
        await cleaner.stop();
        await deleteRabbitTopology(url!, [
          {
            exchanges: [options.exchange, options.deadLetterQueue, options.retryPrefix],
            queues: [options.deadLetterQueue, `${options.exchange}/subscriptions`, ...retryBuckets(options.retryPrefix)],
          },
        ]);
      }
      await isolation.cleanup();
      await rm(database, { force: true });
      await rm(`${database}-wal`, { force: true });
      await rm(`${database}-shm`, { force: true });
    });

    it('cancels an unpaid order for non-payment although the app was killed between the order and the due time', async () => {
      const args = [
        '--transport', kind,
        '--url', url!,
        '--transport-options', JSON.stringify(isolation.transportOptions),
        '--kitchen-transport', 'memory',
        '--service', service,
        '--db', database,
        '--port', '0',
        '--payment-timeout', '3s',
      ];
      const first = await startApp(args);
      children.push(first.child);
      const placed = (await (
        await fetch(`${first.address}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customerId: 'c-1', phone: '+39 081 555 0100', items: [{ menuItemId: 'margherita', quantity: 1 }], deliveryAddress: 'Via Toledo 42, Napoli' }),
        })
      ).json()) as OrderSnapshot;
      expect(placed.status).toBe('placed');
      // Give the saga its start (the timeout is then held by the broker), then kill the app outright.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await kill(first.child);

      const second = await startApp(args);
      children.push(second.child);
      await expect
        .poll(async () => ((await (await fetch(`${second.address}/orders/${placed.id}`)).json()) as OrderSnapshot).cancellationReason, { timeout: 30_000, interval: 250 })
        .toBe('payment not received within 3 s');
      const order = (await (await fetch(`${second.address}/orders/${placed.id}`)).json()) as OrderSnapshot;
      expect(Date.parse(order.cancelledAt!) - Date.parse(order.placedAt)).toBeGreaterThanOrEqual(3_000);
    });
  });
}
