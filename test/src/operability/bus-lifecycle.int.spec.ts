import 'reflect-metadata';

import { afterEach, describe, expect, it } from 'vitest';

import { EventHandler, EventType, type ConnectionState, eventBrand } from '@cloudbus/core';
import '@cloudbus/transport-mqtt';
import '@cloudbus/transport-nats';
import '@cloudbus/transport-rabbitmq';

import { brokerUrl } from '@cloudbus/test/brokers';
import { eventually, proxiedService } from './service-rig.js';

/**
 * Running a bus like a service, on each real broker behind a TCP proxy: the bus's logger reaches
 * the transport, a broker down at boot is waited for, a lost connection shows in health() and the
 * log, and a second stop() is fine.
 */

@EventType('com.example.operability.tick')
class Tick {
  declare readonly [eventBrand]: 'com.example.operability.tick';
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
    const proxiedBus = (startTimeoutMs?: number) =>
      proxiedService(kind, url!, cleanups, { handlers: [TickCounter], ...(startTimeoutMs === undefined ? {} : { startTimeoutMs }) });

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
