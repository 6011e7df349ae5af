import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadEnv } from './config/load-env.js';
import { dataSourceOptions } from './database/data-source-options.js';
import { runMigrations } from './database/migrate.js';

// No JWT_SECRET needed, even in production; two connections, as one holds the advisory lock starting instances wait on.
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
