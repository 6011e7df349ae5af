import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadEnv } from './config/load-env.js';
import { dataSourceOptions } from './database/data-source-options.js';
import { runMigrations } from './database/migrate.js';

// `npm run migrate` (node dist/src/migrate.js): applies pending migrations to DATABASE_URL and
// exits, for deployments that run them as a job before the instances (MIGRATIONS_AT_START=false).
// Needs only the production dependencies and DATABASE_URL: no JWT_SECRET, even in production.
// Instances starting meanwhile take turns on the same lock
// (two connections: one holds the advisory lock while the other migrates).
async function migrate(): Promise<void> {
  const env = loadEnv({}, { signsTokens: false });
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is required: the embedded database migrates itself at start');
  const dataSource = await new DataSource(dataSourceOptions({ url: env.DATABASE_URL }, { poolSize: 2 })).initialize();
  try {
    const pending = await dataSource.showMigrations();
    await runMigrations(dataSource);
    console.log(pending ? 'Migrations applied' : 'No pending migration');
  } finally {
    await dataSource.destroy();
  }
}

migrate().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
