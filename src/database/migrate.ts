import type { DataSource } from 'typeorm';

// Any constant, as long as every instance uses the same.
const MIGRATION_LOCK_KEY = 7_316_240_511;

/** Instances that start together on one server take turns through an advisory lock. */
export async function runMigrations(dataSource: DataSource, { embedded = false } = {}): Promise<void> {
  if (embedded) {
    // Private and single-connection: nobody to race, and no second connection for a lock.
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
