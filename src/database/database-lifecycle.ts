import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { runMigrations } from './migrate.js';

/** Migrates before the app serves; at shutdown closes the pool before the embedded server under it. */
@Injectable()
export class DatabaseLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly dataSource: DataSource,
    private readonly embedded: EmbeddedPostgres,
  ) {}

  async onModuleInit(): Promise<void> {
    await runMigrations(this.dataSource, { embedded: this.embedded.running });
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded.running) return;
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.embedded.stop();
  }
}
