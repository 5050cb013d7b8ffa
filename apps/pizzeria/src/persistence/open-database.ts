import type { Database } from './database.js';
import { migrate } from './schema.js';
import { SqliteDatabase } from './sqlite-database.js';

/**
 * Opens the database named by `location` and creates its tables: a `postgres://` (or
 * `postgresql://`) URL for PostgreSQL, else a SQLite file path, or `:memory:`.
 */
export async function openDatabase(location: string, options: { readonly postgresSchema?: string } = {}): Promise<Database> {
  let db: Database;
  if (/^postgres(ql)?:\/\//.test(location)) {
    // Loaded only when used: SQLite-only deployments never load the PostgreSQL client.
    const { PostgresDatabase } = await import('./postgres-database.js');
    const postgres = new PostgresDatabase({ url: location, ...(options.postgresSchema === undefined ? {} : { schema: options.postgresSchema }) });
    db = postgres;
    try {
      await postgres.ensureSchema();
    } catch (error) {
      await postgres.close().catch(() => {});
      throw error;
    }
  } else {
    db = new SqliteDatabase(location);
  }
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  return db;
}
