import 'reflect-metadata';

import { afterEach, describe, expect, it } from 'vitest';

import { EventBus, EventHandler, EventType, type ConnectionState, type Logger } from '@cloudbus/core';
import '@cloudbus/transport-mqtt';
import '@cloudbus/transport-nats';
import '@cloudbus/transport-rabbitmq';

import { connect as connectNats } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as connectAmqp } from 'amqplib';

import { brokerUrl, uniqueName, type BrokerKind } from '../brokers.js';
import { TcpProxy } from '../tcp-proxy.js';

/**
 * Running a bus like a service, on each real broker behind a TCP proxy: the bus's logger reaches
 * the transport, a broker down at boot is waited for, a lost connection shows in health() and the
 * log, and a second stop() is fine.
 */

interface Line {
  readonly level: keyof Logger;
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

function recordingLogger(): Logger & { lines: Line[]; text(): string } {
  const lines: Line[] = [];
  const at =
    (level: keyof Logger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields });
    };
  return { lines, text: () => JSON.stringify(lines), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function eventually<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const DEFAULT_PORTS: Record<BrokerKind, number> = { rabbitmq: 5672, nats: 4222, mqtt: 1883 };

/** Options that keep each run's names its own, and reconnections quick. */
function transportOptions(kind: BrokerKind, run: string): Record<string, unknown> {
  switch (kind) {
    case 'rabbitmq':
      return { exchange: `${run}.events`, deadLetterQueue: `${run}.deadletter`, retryPrefix: `${run}.retry`, queuePrefix: `${run}.`, reconnectMinDelayMs: 100, reconnectMaxDelayMs: 500 };
    case 'nats':
      return { stream: natsName(run), subjectPrefix: `${run}.events`, deadLetterStream: `${natsName(run)}_dl`, deadLetterSubjectPrefix: `${run}.deadletter`, reconnectTimeWaitMs: 200 };
    case 'mqtt':
      return { topicPrefix: run, reconnectMinDelayMs: 100, reconnectMaxDelayMs: 500, sessionExpirySeconds: 60 };
  }
}

function natsName(run: string): string {
  return run.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Deletes what a run declared on the shared broker (MQTT sessions expire by themselves after 60 s). */
async function removeTopology(kind: BrokerKind, url: string, run: string, bus: EventBus): Promise<void> {
  if (kind === 'rabbitmq') {
    const declared = (bus.transport as unknown as { declaredTopology(): { exchanges: string[]; queues: string[] } }).declaredTopology();
    const model = await connectAmqp(url);
    model.on('error', () => {});
    for (const [names, remove] of [
      [declared.queues, (channel: Awaited<ReturnType<typeof model.createChannel>>, name: string) => channel.deleteQueue(name)],
      [declared.exchanges, (channel: Awaited<ReturnType<typeof model.createChannel>>, name: string) => channel.deleteExchange(name)],
    ] as const) {
      for (const name of names) {
        const channel = await model.createChannel();
        channel.on('error', () => {});
        await remove(channel, name).catch(() => {});
        await channel.close().catch(() => {});
      }
    }
    await model.close();
  } else if (kind === 'nats') {
    const nc = await connectNats({ servers: new URL(url).host });
    const jsm = await jetstreamManager(nc);
    for (const stream of [natsName(run), `${natsName(run)}_dl`]) await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  }
}

@EventType('com.example.operability.tick')
class Tick {
  constructor(readonly n: number) {}
}

@EventHandler(Tick)
class TickCounter {
  static seen = 0;
  handle(): void {
    TickCounter.seen++;
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

for (const kind of ['rabbitmq', 'nats', 'mqtt'] as const) {
  const url = brokerUrl(kind);
  describe.skipIf(url === undefined)(`a bus on ${kind}, run like a service`, () => {
    async function proxiedBus(startTimeoutMs = 30_000) {
      const run = uniqueName(`ops-${kind}`);
      const { proxy, url: proxied } = await TcpProxy.inFrontOf(url!, DEFAULT_PORTS[kind]);
      cleanups.push(() => proxy.cut());
      const logger = recordingLogger();
      const bus = new EventBus({
        service: run,
        transport: kind,
        url: proxied,
        transportOptions: transportOptions(kind, run),
        handlers: [TickCounter],
        logger,
        startTimeoutMs,
      });
      cleanups.push(async () => {
        const started = bus.health().transport.connection !== 'unknown';
        await bus.stop();
        if (started) await removeTopology(kind, url!, run, bus);
      });
      return { bus, proxy, logger, run };
    }

    it('waits at start for a broker that is down, logging each attempt, and starts once it is back', async () => {
      const { bus, proxy, logger } = await proxiedBus();
      await proxy.cut();
      const starting = bus.start();
      await eventually(() => logger.lines.filter((line) => line.message.startsWith(`cannot reach the ${kind} broker`)).length >= 2, 'two refused attempts');
      expect(bus.health()).toMatchObject({ state: 'starting', ready: false });
      await proxy.restore();
      await starting;
      expect(bus.health()).toMatchObject({ state: 'started', ready: true, transport: { name: kind, connection: 'connected' } });
      expect(logger.lines.find((line) => line.message.startsWith('cannot reach'))).toMatchObject({ level: 'warn' });
    });

    it('gives up after startTimeoutMs, and the same bus starts once the broker is back', async () => {
      const { bus, proxy } = await proxiedBus(300);
      await proxy.cut();
      await expect(bus.start()).rejects.toThrow(/cannot connect|connection|refused|ECONNREFUSED/i);
      expect(bus.state).toBe('created');
      await proxy.restore();
      await bus.start();
      expect(bus.health().ready).toBe(true);
      await bus.stop();
      await expect(bus.stop()).resolves.toBeUndefined();
    });

    it("hands its logger to the transport: the subscription's bindings at start, the lost connection and the reconnection at warn, as health() shows", async () => {
      const { bus, proxy, logger } = await proxiedBus();
      await bus.start();
      const started = logger.lines.find((line) => line.message === `bus started on ${kind}`);
      expect(started).toMatchObject({ level: 'info', fields: { transport: kind } });
      // The URL is logged without its password (the local RabbitMQ's is guest).
      if (kind === 'rabbitmq') expect(started?.fields?.['url']).toMatch(/^amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+$/);
      const bindings = logger.lines.find((line) => line.message.startsWith(`${kind} transport:`) && line.level === 'info');
      expect(bindings?.message).toContain('TickCounter');
      expect(JSON.stringify(bindings?.fields)).toMatch(/operability[._/]tick/);

      await proxy.cut();
      await eventually(() => logger.lines.some((line) => line.level === 'warn' && line.message === `${kind} transport: connection lost, reconnecting`), 'the lost connection in the log');
      await eventually(() => (['reconnecting', 'connecting'] as ConnectionState[]).includes(bus.health().transport.connection as ConnectionState) && true, 'health() to show the reconnection');
      expect(bus.health().ready).toBe(false);
      await proxy.restore();
      await eventually(() => bus.health().ready, 'health() ready again');
      expect(logger.lines.some((line) => line.message === `${kind} transport: reconnected`)).toBe(true);
    });
  });
}
