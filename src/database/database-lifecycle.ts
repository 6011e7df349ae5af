import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from './database.config.js';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { runMigrations } from './migrate.js';

/** Migrates before the app serves; at shutdown closes the pool before the embedded server under it. */
@Injectable()
export class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly dataSource: DataSource,
    private readonly embedded: EmbeddedPostgres,
    private readonly config: DatabaseConfig,
  ) {}

  // Nobody else can migrate the embedded database; elsewhere a job may, and no schema is served unmigrated.
  async onModuleInit(): Promise<void> {
    if (this.embedded.running || this.config.MIGRATIONS_AT_START) {
      await runMigrations(this.dataSource, { embedded: this.embedded.running });
      return;
    }
    if (await this.dataSource.showMigrations()) {
      throw new Error('Pending migrations and MIGRATIONS_AT_START=false: run `npm run migrate` first');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded.running) return;
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.embedded.stop();
  }
}
