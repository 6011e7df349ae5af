import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseConfig } from './database.config.js';
import { Database } from './database.js';
import { DatabaseLifecycle } from './database-lifecycle.js';
import { dataSourceOptions, type Entity, type Migration } from './data-source-options.js';
import { EmbeddedPostgres } from './embedded-postgres.js';

@Module({ providers: [EmbeddedPostgres], exports: [EmbeddedPostgres] })
class EmbeddedPostgresModule {}

/** Global: every repository queries through `Database`. */
@Global()
@Module({})
export class DatabaseModule {
  /** Applied after the project's own (migrations/index.ts). */
  static forRoot({ migrations = [], entities = [] }: { migrations?: Migration[]; entities?: Entity[] } = {}): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        EmbeddedPostgresModule,
        TypeOrmModule.forRootAsync({
          imports: [EmbeddedPostgresModule],
          inject: [DatabaseConfig, EmbeddedPostgres],
          useFactory: async (config: DatabaseConfig, embedded: EmbeddedPostgres) => {
            const url = config.DATABASE_URL;
            if (url) return dataSourceOptions({ url }, { poolSize: config.DATABASE_POOL_SIZE, migrations, entities });
            const dataDir = config.PGLITE_DATA_DIR;
            return dataSourceOptions(await embedded.start(dataDir), { embedded: true, migrations, entities });
          },
        }),
      ],
      providers: [Database, DatabaseLifecycle],
      exports: [Database],
    };
  }
}
