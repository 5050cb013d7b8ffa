import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

import type { CloudEvent } from '@cloudbus/core';
import { afterEach, describe, expect, it } from 'vitest';

import type { Database } from './database.js';
import { openDatabase } from './open-database.js';
import { SqlInbox } from './sql-inbox.js';
import { SqlOutbox } from './sql-outbox.js';

const opened: Database[] = [];
const files: string[] = [];

async function open(path = ':memory:'): Promise<Database> {
  const db = await openDatabase(path);
  opened.push(db);
  return db;
}

afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
  for (const file of files.splice(0)) await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${file}${suffix}`, { force: true })));
});

function cloudEvent(n: number): CloudEvent {
  return { specversion: '1.0', id: `e-${n}`, source: '/test', type: 'com.example.thing', data: { n } };
}

describe('SqlOutbox', () => {
  it('hands back what was appended, oldest first, until it is marked relayed', async () => {
    const db = await open();
    const outbox = new SqlOutbox(db);
    await db.transaction((tx) => outbox.append(tx, [cloudEvent(1), cloudEvent(2), cloudEvent(3)]));
    const first = await outbox.pending(2);
    expect(first.map((entry) => entry.cloudEvent.id)).toEqual(['e-1', 'e-2']);
    await outbox.markRelayed(first.map((entry) => entry.position));
    expect((await outbox.pending(10)).map((entry) => entry.cloudEvent)).toEqual([cloudEvent(3)]);
    expect(await outbox.size()).toBe(1);
  });

  it('writes nothing when the transaction that appended rolls back', async () => {
    const db = await open();
    const outbox = new SqlOutbox(db);
    await expect(
      db.transaction(async (tx) => {
        await outbox.append(tx, [cloudEvent(1)]);
        throw new Error('the order could not be saved');
      }),
    ).rejects.toThrow('the order could not be saved');
    expect(await outbox.size()).toBe(0);
  });

  it('keeps the buses apart, and does not hand another instance the entries this one claimed until the claim expires', async () => {
    const file = join(tmpdir(), `outbox-${randomUUID()}.db`);
    files.push(file);
    const one = new SqlOutbox(await open(file), { claimMs: 200 });
    const other = new SqlOutbox(await open(file), { claimMs: 200 });
    const kitchen = new SqlOutbox(opened[0]!, { bus: 'kitchen' });
    await opened[0]!.transaction(async (tx) => {
      await one.append(tx, [cloudEvent(1)]);
      await kitchen.append(tx, [cloudEvent(2)]);
    });
    expect((await one.pending(10)).map((e) => e.cloudEvent.id)).toEqual(['e-1']);
    expect(await other.pending(10)).toEqual([]);
    expect((await one.pending(10)).map((e) => e.cloudEvent.id)).toEqual(['e-1']);
    expect((await kitchen.pending(10)).map((e) => e.cloudEvent.id)).toEqual(['e-2']);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await other.pending(10)).map((e) => e.cloudEvent.id)).toEqual(['e-1']);
  });
});

describe('SqlInbox', () => {
  it('lets one claim through per key, again after a release, never after completion', async () => {
    const inbox = new SqlInbox(await open());
    const key = 'pizzeria.Handler\u0000/source\u0000id-1';
    expect(await inbox.claim(key)).toBe(true);
    expect(await inbox.claim(key)).toBe(false);
    await inbox.release(key);
    expect(await inbox.claim(key)).toBe(true);
    await inbox.complete(key);
    expect(await inbox.claim(key)).toBe(false);
  });

  it('lets a claim whose holder died be taken again after the lease', async () => {
    const inbox = new SqlInbox(await open(), { leaseMs: 100 });
    expect(await inbox.claim('k')).toBe(true);
    expect(await inbox.claim('k')).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await inbox.claim('k')).toBe(true);
  });
});
