import { EventBus, EventType, MemoryBroker, MemoryTransport, eventBrand } from '@cloudbus/core';
import { afterEach, describe, expect, it } from 'vitest';

import { SqliteDatabase } from './sqlite-database.js';
import { SqlScheduleCancellations } from './sql-schedule-cancellations.js';

@EventType('com.example.cancellations.reminder')
class Reminder {
  declare readonly [eventBrand]: 'com.example.cancellations.reminder';
  constructor(readonly text: string) {}
}

const buses: EventBus[] = [];
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.stop();
});

describe('SqlScheduleCancellations', () => {
  it('keeps a cancellation made on one bus for another sharing the database, until the schedule comes due', async () => {
    const db = new SqliteDatabase(':memory:');
    const cancellations = new SqlScheduleCancellations(db);
    await cancellations.migrate();
    const broker = new MemoryBroker();
    // The first instance schedules and cancels, then stops; the second fires what is due.
    const first = new EventBus({ service: 'shop', transport: new MemoryTransport({ broker }), scheduler: true, scheduleCancellations: new SqlScheduleCancellations(db) });
    buses.push(first);
    await first.start();
    const cancelled = await first.schedule(new Reminder('cancelled'), { delayMs: 200 });
    const kept = await first.schedule(new Reminder('kept'), { delayMs: 200 });
    await first.cancelScheduled(cancelled);
    await first.stop();

    const second = new EventBus({ service: 'shop', transport: new MemoryTransport({ broker }), scheduler: true, scheduleCancellations: cancellations, handlers: [] });
    buses.push(second);
    const seen: string[] = [];
    second.telemetry.on((record) => {
      if (record.kind === 'published' && record.eventType === 'com.example.cancellations.reminder') seen.push(record.eventId!);
    });
    await second.start();
    await expect.poll(() => seen.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen).toHaveLength(1);
    expect(await cancellations.isCancelled(cancelled)).toBe(false); // forgotten once due
    expect(kept).not.toBe(cancelled);
    await db.close();
  });
});
