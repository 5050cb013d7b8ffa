import { sagaStoreContract } from '@cloudbus/core/testing/contract';
import { isListening, uniqueName } from '@cloudbus/test/brokers';
import { afterAll, describe } from 'vitest';

import { PostgresDatabase } from './postgres-database.js';
import { SqlSagaStore } from './sql-saga-store.js';

// PIZZERIA_POSTGRES_URL, else the local test database on 5432 (user postgres, trust auth).
const url = process.env['PIZZERIA_POSTGRES_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
const available = process.env['PIZZERIA_POSTGRES_URL'] !== undefined || (await isListening('127.0.0.1', 5432));

describe.skipIf(!available)('SqlSagaStore on PostgreSQL', () => {
  const table = uniqueName('sagas').replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  const db = new PostgresDatabase({ url, poolSize: 4 });
  afterAll(async () => {
    await db.execute(`DROP TABLE IF EXISTS ${table}`);
    await db.close();
  });
  sagaStoreContract('SqlSagaStore on PostgreSQL', async () => {
    const store = new SqlSagaStore(db, table);
    await store.migrate();
    return store;
  });
});
