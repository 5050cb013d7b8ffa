import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { EventBus } from '../bus/event-bus.js';
import { CloudbusError } from '../errors.js';
import { EventType, eventBrand } from '../events/event-type.js';
import type { EventContext } from '../handlers/event-context.js';
import { EventHandler, type HandlerClass } from '../handlers/event-handler.js';
import { silentLogger } from '../logger.js';
import type { ConsumerProcessConfig } from './consumer-process.js';
import type { ContractHarness } from './transport-contract.js';
import { eventually, sleep } from './waiting.js';

/**
 * Core's built consumer process. The same relative path serves from `src/testing/` (under vitest)
 * and from `dist/testing/`.
 */
const CONSUMER_SCRIPT = fileURLToPath(new URL('../../dist/testing/consumer-process.js', import.meta.url));

/**
 * The destructive part of the contract: the broker restarts, a consumer process is killed
 * mid-handle. These cases stop brokers and kill processes, so they run alone (`*.destructive.spec.ts`,
 * `pnpm test:destructive`), never beside other tests. A case whose harness control is missing
 * (`restartBroker`, `consumerProcess`) is skipped.
 *
 * @example
 * ```ts
 * transportScenarios('nats', () => ({ ...natsHarness(), restartBroker: restartNats, consumerProcess: { ... } }));
 * ```
 */
export function transportScenarios(name: string, factory: () => ContractHarness | Promise<ContractHarness>): void {
  describe(`transport scenarios: ${name}`, () => {
    const run = `s${Date.now().toString(36)}${randomUUID().slice(0, 6)}`;
    let harnessPromise: Promise<ContractHarness> | undefined;
    const harness = () => (harnessPromise ??= Promise.resolve(factory()));
    const buses: EventBus[] = [];
    const children: ChildProcess[] = [];
    let sequence = 0;

    afterEach(async () => {
      for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const bus of buses.splice(0)) if (bus.state === 'started') await bus.stop({ drainTimeoutMs: 500 }).catch(() => undefined);
    });

    afterAll(async () => {
      await (await harness()).cleanup?.();
    });

    function defineEvent() {
      class OrderPlaced {
        declare readonly [eventBrand]: string;
        constructor(readonly orderId: string) {}
      }
      const n = ++sequence;
      EventType(`dev.cloudbus.scenario.${run}.t${n}.order.placed`)(OrderPlaced);
      return { OrderPlaced, type: `dev.cloudbus.scenario.${run}.t${n}.order.placed`, service: `${run}-s${n}` };
    }

    async function startBus(service: string, handlers: HandlerClass[] = []): Promise<EventBus> {
      const bus = new EventBus({ service, handlers, transport: await (await harness()).createTransport(), logger: silentLogger });
      buses.push(bus);
      await bus.start();
      return bus;
    }

    /** Starts the consumer process and resolves once it has subscribed; `output()` is its stdout so far. */
    async function consumerProcess(config: Omit<ConsumerProcessConfig, 'module' | 'transport' | 'url' | 'options'>): Promise<{ child: ChildProcess; output: () => string }> {
      const given = (await harness()).consumerProcess!;
      const child = spawn(process.execPath, [CONSUMER_SCRIPT], {
        env: { ...process.env, CLOUDBUS_TEST_CONSUMER: JSON.stringify({ ...given, ...config }) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await eventually(async () => (output.includes('ready') ? true : child.exitCode !== null ? Promise.reject(new Error(`the consumer process exited (${child.exitCode})`)) : undefined), 60_000, 'the consumer process to subscribe');
      return { child, output: () => output };
    }

    async function kill(child: ChildProcess): Promise<void> {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }

    /** A successor in this process: the same service and handler name, recording what it receives. */
    async function successor(OrderPlaced: ReturnType<typeof defineEvent>['OrderPlaced'], service: string) {
      const seen: { orderId: string; attempt: number; at: number }[] = [];
      class Oven {
        handle(event: InstanceType<typeof OrderPlaced>, context: EventContext): void {
          seen.push({ orderId: event.orderId, attempt: context.attempt, at: Date.now() });
        }
      }
      EventHandler(OrderPlaced, { name: 'Oven', concurrency: 1 })(Oven);
      await startBus(service, [Oven]);
      return seen;
    }

    it('handles every confirmed event of a stream when the broker restarts in the middle', async (context) => {
      const given = await harness();
      if (given.restartBroker === undefined) context.skip('the harness cannot restart the broker (harness.restartBroker)');
      const probe = await given.createTransport();
      if (!probe.capabilities.durable) context.skip('messages do not outlive a broker restart (capabilities.durable)');
      const { OrderPlaced, service } = defineEvent();
      const handled = new Set<string>();
      class Counter {
        handle(event: InstanceType<typeof OrderPlaced>): void {
          handled.add(event.orderId);
        }
      }
      EventHandler(OrderPlaced, { name: 'Counter', concurrency: 64 })(Counter);
      const bus = await startBus(service, [Counter]);

      const total = given.restartVolume ?? 10_000;
      const batchSize = 100;
      let restart: Promise<void> | undefined;
      let rejected = 0;
      try {
        for (let start = 0; start < total; start += batchSize) {
          if (restart === undefined && start >= total * 0.3) restart = given.restartBroker!(1_000);
          const batch = Array.from({ length: Math.min(batchSize, total - start) }, (_, i) => new OrderPlaced(`o-${start + i}`));
          // A batch not confirmed is published again (new ids, the same orders): nothing confirmed may be lost.
          for (;;) {
            try {
              await bus.publish(batch);
              break;
            } catch (error) {
              // A transport fails with its named errors, never a plain Error.
              expect(error).toBeInstanceOf(CloudbusError);
              rejected++;
              await sleep(250);
            }
          }
        }
        await restart;
        await eventually(async () => (handled.size >= total ? true : undefined), 180_000, `${total} distinct events handled`);
      } finally {
        await restart?.catch(() => undefined);
      }
      expect(handled.size).toBe(total);
      console.info(`[${name} restart] batches not confirmed and published again: ${rejected}`);
    });

    it('redelivers to the next consumer what a killed consumer process was handling, as the next attempt', async (context) => {
      if ((await harness()).consumerProcess === undefined) context.skip('no consumer process (harness.consumerProcess)');
      const { OrderPlaced, type, service } = defineEvent();
      const { child, output } = await consumerProcess({ service, type, behaviour: 'hang' });
      const publisher = await startBus(`${service}-publisher`);
      await publisher.publish(new OrderPlaced('o-killed'));
      await eventually(async () => (output().includes('handling o-killed 1') ? true : undefined), 30_000, 'the consumer process to take the event');
      await kill(child);

      const seen = await successor(OrderPlaced, service);
      await eventually(async () => seen[0], 60_000, 'the redelivery to the next consumer');
      await sleep(500);
      expect(seen.map(({ orderId, attempt }) => ({ orderId, attempt }))).toEqual([{ orderId: 'o-killed', attempt: 2 }]);
    });

    it('loses nothing when a consumer process is killed while a retry waits for its delay, and keeps the delay', async (context) => {
      if ((await harness()).consumerProcess === undefined) context.skip('no consumer process (harness.consumerProcess)');
      const { OrderPlaced, type, service } = defineEvent();
      const { child, output } = await consumerProcess({ service, type, behaviour: 'fail-first', retryDelayMs: 3_000 });
      const publisher = await startBus(`${service}-publisher`);
      await publisher.publish(new OrderPlaced('o-retried'));
      await eventually(async () => (output().includes('handling o-retried 1') ? true : undefined), 30_000, 'the first attempt');
      const firstAttemptAt = Date.now();
      await sleep(500); // the retry is now with the broker, waiting for its delay
      await kill(child);

      const seen = await successor(OrderPlaced, service);
      await eventually(async () => seen[0], 60_000, 'the retry');
      await sleep(500);
      expect(seen.map(({ orderId, attempt }) => ({ orderId, attempt }))).toEqual([{ orderId: 'o-retried', attempt: 2 }]);
      expect(seen[0]!.at - firstAttemptAt).toBeGreaterThanOrEqual(2_900);
    });
  });
}
