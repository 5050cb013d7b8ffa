import { randomUUID } from 'node:crypto';

import { isListening, uniqueName } from '@cloudbus/test/brokers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createPizzeria } from '../app/pizzeria.js';
import type { Notification } from '../notifications/notification.js';
import type { AnalyticsReport } from './analytics-store.js';
import { PizzeriaDriver } from '../testing/pizzeria-driver.js';
import type { PostgresDatabase } from './postgres-database.js';

// PIZZERIA_POSTGRES_URL, else a local server on 5432 accepting the postgres user without a password.
const url = process.env['PIZZERIA_POSTGRES_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres';
const available = process.env['PIZZERIA_POSTGRES_URL'] !== undefined || (await isListening('127.0.0.1', 5432));
// The root vitest config starts workers with `--conditions import`, so Node's require() of pg's
// CommonJS dependency pg-pool loads its ESM build and pg fails to load ("Class extends value
// [object Module]"). Outside vitest (the app itself) pg loads fine. Skip until the config is fixed.
const conditions = process.execArgv.flatMap((arg, i, all) => (arg === '--conditions' ? [all[i + 1]] : arg.startsWith('--conditions=') ? [arg.slice(13)] : []));
const pgLoadable = !conditions.includes('import');
if (available && !pgLoadable) console.warn('[pizzeria tests] Skipping PostgreSQL: vitest workers run with --conditions import, which breaks loading pg (see the test file).');

describe.skipIf(!available || !pgLoadable)('the pizzeria on PostgreSQL', () => {
  const schema = uniqueName('pizzeria').replace(/-/g, '_');
  let admin: PostgresDatabase;

  beforeAll(async () => {
    const { PostgresDatabase } = await import('./postgres-database.js');
    admin = new PostgresDatabase({ url });
  });

  afterAll(async () => {
    await admin.execute(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.close();
  });

  it('delivers an order, and a second instance on the same database sees it and handles nothing twice', async () => {
    const broker = `memory://${randomUUID()}`;
    const options = { transport: 'memory', url: broker, database: url, postgresSchema: schema, bakeTimeMs: 30, outboxPollIntervalMs: 100 } as const;
    const first = await createPizzeria(options);
    const second = await createPizzeria(options);
    try {
      const api = new PizzeriaDriver(first.http);
      const other = new PizzeriaDriver(second.http);
      const orders = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? api : other).deliverOrder()));
      expect((await other.order(orders[0]!.id)).status).toBe('delivered');
      const report = await api.eventually(async () => {
        const analytics = await api.get<AnalyticsReport>('/analytics');
        return analytics.ordersDelivered === 6 ? analytics : undefined;
      }, 'six deliveries counted');
      expect(report).toMatchObject({ ordersPlaced: 6, ordersPaid: 6, ordersReady: 6, revenue: '155.94' });
      const { notifications } = await api.get<{ notifications: Notification[] }>('/notifications?limit=100');
      expect(notifications).toHaveLength(18);
      const tables = await admin.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = ?', [schema]);
      expect(tables.map((t) => t.table_name)).toContain('outbox');
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});
