import { mkdir } from 'node:fs/promises';
import { Injectable, Logger } from '@nestjs/common';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * PGlite in this process, served over the PostgreSQL wire protocol on a loopback port, so that
 * TypeORM talks to it through the same `pg` driver as to a real server.
 */
@Injectable()
export class EmbeddedPostgres {
  private readonly logger = new Logger(EmbeddedPostgres.name);
  private db?: PGlite;
  private server?: PGLiteSocketServer;

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Starts the database and returns a connection URL for it. */
  async start(dataDir: string): Promise<string> {
    if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
    this.db = await PGlite.create(dataDir);
    // PGlite runs one query at a time, so the server takes one connection (and the pool is 1).
    this.server = new PGLiteSocketServer({ db: this.db, host: '127.0.0.1', port: 0, maxConnections: 1 });
    await this.server.start();
    const where = dataDir.startsWith('memory://') ? 'in memory' : `in ${dataDir}`;
    this.logger.log(`Embedded PostgreSQL (PGlite) ${where}, serving on ${this.server.getServerConn()}`);
    return `postgres://postgres:postgres@${this.server.getServerConn()}/postgres`;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    await this.db?.close();
    this.server = undefined;
    this.db = undefined;
  }
}
