import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Libsql from 'libsql';
import { afterEach, describe, expect, it } from 'vitest';

import { createPizzeria, type Pizzeria } from '../app/pizzeria.js';
import type { SqlExecutor } from './database.js';
import { SqliteDatabase } from './sqlite-database.js';

const files: string[] = [];
const running: Pizzeria[] = [];

afterEach(async () => {
  for (const pizzeria of running.splice(0)) await pizzeria.stop();
  for (const file of files.splice(0)) await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${file}${suffix}`, { force: true })));
});

function tempFile(): string {
  const file = join(tmpdir(), `pizzeria-${randomUUID()}.db`);
  files.push(file);
  return file;
}

describe('SqliteDatabase (libsql)', () => {
  it('writes a file in WAL mode and syncs a durable commit (synchronous = FULL), the others at the next sync (NORMAL)', async () => {
    const db = new SqliteDatabase(tempFile());
    const synchronous = async (tx: SqlExecutor) => (await tx.query<{ synchronous: number }>('PRAGMA synchronous'))[0]?.synchronous;
    try {
      expect(await db.query<{ journal_mode: string }>('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      // 2 = FULL: the WAL is fsynced at this commit, so it survives a power cut. 1 = NORMAL.
      expect(await db.transaction(synchronous, { durable: true })).toBe(2);
      expect(await db.transaction(synchronous)).toBe(1);
      expect(await synchronous(db)).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('has the order and its outbox rows committed in the file when POST /orders answers', async () => {
    const file = tempFile();
    const pizzeria = await createPizzeria({ transport: 'memory', url: `memory://sqlite-${randomUUID()}`, database: file, kitchenDevices: 'external' });
    running.push(pizzeria);
    await pizzeria.relay.stop(); // keep the outbox rows where they are
    const reply = await pizzeria.http.inject({
      method: 'POST',
      url: '/orders',
      payload: { customerId: 'c-1', phone: '+39 081 555 0100', items: [{ menuItemId: 'margherita', quantity: 1 }], deliveryAddress: 'Via Toledo 42, Napoli' },
    });
    expect(reply.statusCode).toBe(201);
    const id = reply.json<{ id: string }>().id;
    // Another connection, as another process would open the file after a crash.
    const other = new Libsql(file, { readonly: true });
    try {
      expect(other.prepare('SELECT id FROM orders WHERE id = ?').all(id)).toEqual([{ id }]);
      const events = other.prepare("SELECT cloud_event AS event FROM outbox").all() as { event: string }[];
      expect(events.map((row) => (JSON.parse(row.event) as { type: string; data: { orderId: string } }).data.orderId)).toContain(id);
    } finally {
      other.close();
    }
  });
});
