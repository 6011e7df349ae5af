import type { DataSource } from 'typeorm';

/** Any constant works; it only has to be the same for every instance of this app. */
const MIGRATION_LOCK_KEY = 7_316_240_511;

/**
 * Applies pending migrations. On a shared server, instances that start together take turns
 * through an advisory lock instead of racing to create the same tables.
 */
export async function runMigrations(dataSource: DataSource, { embedded = false } = {}): Promise<void> {
  if (embedded) {
    // A private, single-connection database: nobody to race, and no second connection for a lock.
    await dataSource.runMigrations();
    return;
  }
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations();
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}
