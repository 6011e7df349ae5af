import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './src/database/data-source-options.js';

// The TypeORM CLI's (npm run migration:*): a real PostgreSQL only, the embedded one lives in the server.
if (existsSync('.env')) process.loadEnvFile('.env');
const url = process.env.DATABASE_URL;
if (!url) {
  throw new Error('DATABASE_URL is required for the TypeORM CLI, e.g. postgres://user:pass@localhost:5432/auth');
}

export default new DataSource(dataSourceOptions({ url }));
