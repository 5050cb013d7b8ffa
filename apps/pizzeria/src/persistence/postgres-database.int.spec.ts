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
if (!available) console.warn('[pizzeria tests] No PostgreSQL: set PIZZERIA_POSTGRES_URL or start one on 127.0.0.1:5432. Skipping.');

describe.skipIf(!available)('the pizzeria on PostgreSQL', () => {
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

  it('reports the database on /health without the password of its URL', async () => {
    // The local server trusts loopback, so any password is accepted: this one must never show.
    const withPassword = new URL(url);
    withPassword.password = 'pizza-s3cret';
    const pizzeria = await createPizzeria({ transport: 'memory', url: `memory://${randomUUID()}`, database: withPassword.toString(), postgresSchema: schema, bakeTimeMs: 30, outboxPollIntervalMs: 100 });
    try {
      const health = await new PizzeriaDriver(pizzeria.http).get<Record<string, unknown>>('/health');
      expect(health['database']).toBe(`postgres://${withPassword.host}${withPassword.pathname}`);
      expect(JSON.stringify(health)).not.toContain('pizza-s3cret');
    } finally {
      await pizzeria.stop();
    }
  });
});
