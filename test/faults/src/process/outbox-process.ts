/**
 * The outbox fault (12) in a process of its own, configured by the JSON in `CLOUDBUS_FAULT_OUTBOX`:
 * - `save-then-crash`: saves `count` orders, each with its event in the outbox in the same
 *   transaction, then SIGKILLs itself before relaying anything;
 * - `relay-crash-before-mark`: relays, and SIGKILLs itself after the first batch was confirmed by
 *   the broker but before it was marked relayed;
 * - `relay`: relays everything left, then exits.
 * Every committed event id goes to the ledger as published and confirmed: the outbox promises it.
 */
import '@cloudbus/transport-rabbitmq';
import '@cloudbus/transport-nats';
import '@cloudbus/transport-mqtt';

import { EventBus, EventType, OutboxRelay, eventBrand, silentLogger, type CloudEvent, type OutboxEntry, type OutboxStore } from '@cloudbus/core';
import Database from 'libsql';

import { Ledger } from '../infrastructure/ledger.js';

interface OutboxConfig {
  readonly mode: 'save-then-crash' | 'relay-crash-before-mark' | 'relay';
  readonly transport: string;
  readonly url?: string;
  readonly transportOptions: Record<string, unknown>;
  readonly service: string;
  readonly type: string;
  readonly ledgerPath: string;
  readonly ordersPath: string;
  readonly count: number;
}

const config = JSON.parse(process.env['CLOUDBUS_FAULT_OUTBOX'] ?? '{}') as OutboxConfig;
const ledger = new Ledger(config.ledgerPath);
const db = new Database(config.ordersPath, { timeout: 30_000 });
db.pragma('journal_mode = WAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, total TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS outbox (position INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL, relayed INTEGER NOT NULL DEFAULT 0);
`);

/** The outbox table as an {@link OutboxStore}. */
class SqliteOutboxStore implements OutboxStore {
  readonly #pending = db.prepare('SELECT position, event FROM outbox WHERE relayed = 0 ORDER BY position LIMIT ?');
  readonly #mark = db.prepare('UPDATE outbox SET relayed = 1 WHERE position = ?');
  constructor(private readonly crashBeforeMark: boolean) {}
  pending(limit: number): Promise<readonly OutboxEntry[]> {
    const rows = this.#pending.all(limit) as { position: number; event: string }[];
    return Promise.resolve(rows.map((row) => ({ position: row.position, cloudEvent: JSON.parse(row.event) as CloudEvent })));
  }
  markRelayed(positions: readonly number[]): Promise<void> {
    if (this.crashBeforeMark) process.kill(process.pid, 'SIGKILL');
    db.transaction(() => {
      for (const position of positions) this.#mark.run(position);
    })();
    return Promise.resolve();
  }
}

class OrderPlaced {

  declare readonly [eventBrand]: string;
  constructor(
    readonly n: number,
    readonly total: string,
  ) {}
}
EventType(config.type)(OrderPlaced);

const bus = new EventBus({
  service: `${config.service}-orders`,
  transport: config.transport as 'rabbitmq',
  ...(config.url === undefined ? {} : { url: config.url }),
  transportOptions: { ...config.transportOptions, logger: silentLogger },
  logger: silentLogger,
});

if (config.mode === 'save-then-crash') {
  const insertOrder = db.prepare('INSERT INTO orders (id, total) VALUES (?, ?)');
  const insertEvent = db.prepare('INSERT INTO outbox (event) VALUES (?)');
  for (let n = 1; n <= config.count; n++) {
    const total = `${n}.99`;
    const [cloudEvent] = bus.prepare(new OrderPlaced(n, total));
    db.transaction(() => {
      insertOrder.run(n, total);
      insertEvent.run(JSON.stringify(cloudEvent));
    })();
    ledger.published([cloudEvent!.id]);
    ledger.confirmed([cloudEvent!.id]);
  }
  process.stdout.write('saved\n');
  process.kill(process.pid, 'SIGKILL');
} else {
  await bus.start();
  const relay = new OutboxRelay(bus, new SqliteOutboxStore(config.mode === 'relay-crash-before-mark'), { batchSize: 20, logger: silentLogger });
  const relayed = await relay.relayOnce();
  process.stdout.write(`relayed ${relayed}\n`);
  await bus.stop();
  process.exit(0);
}
