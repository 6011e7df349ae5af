import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  private lockFile?: string;

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Starts the database and returns a connection URL for it. */
  async start(dataDir: string): Promise<string> {
    if (!dataDir.startsWith('memory://')) await this.lock(dataDir);
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
    if (this.lockFile) await rm(this.lockFile, { force: true });
    this.server = undefined;
    this.db = undefined;
    this.lockFile = undefined;
  }

  /**
   * PGlite does not stop a second process from opening the same directory, and two engines
   * writing one data directory corrupt it. A pid file does; a stale one (dead pid) is taken over.
   */
  private async lock(dataDir: string): Promise<void> {
    await mkdir(dataDir, { recursive: true });
    const lockFile = join(dataDir, 'auth-backend.pid');
    for (;;) {
      try {
        await writeFile(lockFile, String(process.pid), { flag: 'wx' });
        this.lockFile = lockFile;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = Number(await readFile(lockFile, 'utf8').catch(() => ''));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new Error(
          `PGLITE_DATA_DIR ${dataDir} is in use by process ${pid}; the embedded database serves one ` +
            'process. Use another directory, or DATABASE_URL for instances that share a database.',
        );
      }
      await rm(lockFile, { force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
