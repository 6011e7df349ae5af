import type { DataSourceOptions, MigrationInterface } from 'typeorm';
import { MIGRATIONS } from '../../migrations/index.js';
import { APP_PARTS } from '../app.parts.js';
import { ENTITIES } from './entities.js';

/** A `postgres://` URL, or a host (a socket directory for the embedded database) and port. */
export type Connection = { url: string } | { host: string; port: number };

export type Migration = new () => MigrationInterface;

// Entities serve the migration generator only: queries go through repositories.
export type Entity = new () => object;

/** Shared by the app, `npm run migrate` and the TypeORM CLI, so all three see src/app.parts.ts. */
export function dataSourceOptions(
  connection: Connection,
  { embedded = false, poolSize = 10, migrations = [] as Migration[], entities = [] as Entity[] } = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    ...connection,
    ...(embedded && { username: 'postgres', database: 'postgres' }),
    entities: [...new Set([...ENTITIES, ...(APP_PARTS.entities ?? []), ...entities])],
    migrations: [...new Set([...MIGRATIONS, ...(APP_PARTS.migrations ?? []), ...migrations])],
    migrationsTransactionMode: 'all',
    synchronize: false,
    // Query errors reach our exception filter and are logged there, with the request id.
    logging: false,
    // PGlite serves one connection; several would interleave their queries.
    poolSize: embedded ? 1 : poolSize,
    connectTimeoutMS: 5000,
    // 500s, never hung requests: the server cancels slow statements, the client gives up on a silent server.
    extra: { statement_timeout: 5000, query_timeout: 7000 },
    applicationName: 'auth-backend',
  };
}
