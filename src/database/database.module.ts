import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Env } from '../config/env.validation.js';
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
  /** An application's own migrations, applied after the project's (migrations/index.ts), and entities. */
  static forRoot({ migrations = [], entities = [] }: { migrations?: Migration[]; entities?: Entity[] } = {}): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        EmbeddedPostgresModule,
        TypeOrmModule.forRootAsync({
          imports: [EmbeddedPostgresModule],
          inject: [ConfigService, EmbeddedPostgres],
          useFactory: async (config: ConfigService<Env, true>, embedded: EmbeddedPostgres) => {
            const url = config.get('DATABASE_URL', { infer: true });
            if (url) return dataSourceOptions({ url }, { poolSize: config.get('DATABASE_POOL_SIZE', { infer: true }), migrations, entities });
            const dataDir = config.get('PGLITE_DATA_DIR', { infer: true });
            return dataSourceOptions(await embedded.start(dataDir), { embedded: true, migrations, entities });
          },
        }),
      ],
      providers: [Database, DatabaseLifecycle],
      exports: [Database],
    };
  }
}
