import { sagaStoreContract } from '@cloudbus/core/testing/contract';

import { SqliteDatabase } from './sqlite-database.js';
import { SqlSagaStore } from './sql-saga-store.js';

sagaStoreContract('SqlSagaStore on SQLite', async () => {
  const store = new SqlSagaStore(new SqliteDatabase(':memory:'));
  await store.migrate();
  return store;
});
