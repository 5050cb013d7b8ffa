import { randomUUID } from 'node:crypto';

import { EventBus, On, type EventContext } from '@cloudbus/core';
import { describe, expect, it } from 'vitest';

import { KitchenCookingStarted } from './kitchen-cooking-started.js';
import { startKitchenDevices } from './kitchen-devices.js';
import { KitchenOrderReady } from './kitchen-order-ready.js';
import { KitchenTicketQueued } from './kitchen-ticket-queued.js';

describe('the simulated kitchen devices', () => {
  it('report cooking started, then ready no sooner than the bake time, and the display clears the ticket', async () => {
    const url = `memory://${randomUUID()}`;
    const lines: string[] = [];
    const devices = await startKitchenDevices({ transport: 'memory', url, bakeTimeMs: 150, display: true, displayId: 'pass', onReport: (line) => lines.push(line) });
    const reports: { kind: string; at: number; correlation: unknown }[] = [];
    const pizzeria = new EventBus({ service: 'pizzeria-kitchen', transport: 'memory', url, handlers: [] });
    const listener = new EventBus(
      { service: 'listener', transport: 'memory', url, handlers: [Listener] },
      () => new Listener((kind, correlation) => reports.push({ kind, at: Date.now(), correlation })),
    );
    await pizzeria.start();
    await listener.start();
    try {
      const queuedAt = Date.now();
      await pizzeria.publish(new KitchenTicketQueued('order-1', [{ name: 'Margherita', quantity: 2 }], new Date().toISOString()), { correlationId: 'order-1' });
      await expect.poll(() => reports.map((r) => r.kind), { timeout: 10_000 }).toEqual(['cooking-started', 'ready']);
      expect(reports[1]!.at - queuedAt).toBeGreaterThanOrEqual(150);
      expect(reports.every((r) => r.correlation === 'order-1')).toBe(true);
      await expect.poll(() => devices.display?.tickets.length, { timeout: 5_000 }).toBe(0);
      expect(lines.some((line) => line.includes('1 open ticket(s)'))).toBe(true);
    } finally {
      await listener.stop();
      await pizzeria.stop();
      await devices.stop();
    }
  });
});

class Listener {
  constructor(private readonly seen: (kind: string, correlation: unknown) => void) {}

  @On(KitchenCookingStarted)
  cooking(_event: KitchenCookingStarted, ctx: EventContext): void {
    this.seen('cooking-started', ctx.cloudEvent.correlationid);
  }

  @On(KitchenOrderReady)
  ready(_event: KitchenOrderReady, ctx: EventContext): void {
    this.seen('ready', ctx.cloudEvent.correlationid);
  }
}
