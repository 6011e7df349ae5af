import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** Where `pg` finds the embedded server: a Unix socket directory, as libpq takes it in `host`. */
export interface EmbeddedConnection {
  host: string;
  port: number;
}

const SOCKET_PORT = 5432;

/**
 * PGlite in this process, served over the PostgreSQL wire protocol so that TypeORM talks to it
 * through the same `pg` driver as to a real server. It has no authentication, so it listens on a
 * Unix socket in a fresh directory only this user can enter, not on a TCP port (but on Windows).
 */
@Injectable()
export class EmbeddedPostgres {
  private readonly logger = new Logger(EmbeddedPostgres.name);
  private db?: PGlite;
  private server?: PGLiteSocketServer;
  private lockFile?: string;
  private socketDir?: string;

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(dataDir: string): Promise<EmbeddedConnection> {
    if (!dataDir.startsWith('memory://')) await this.lock(dataDir);
    this.db = await PGlite.create(dataDir);
    const where = dataDir.startsWith('memory://') ? 'in memory' : `in ${dataDir}`;
    // PGlite runs one query at a time, so the server takes one connection (and the pool is 1).
    if (process.platform === 'win32') {
      // No Unix sockets for pg on Windows: loopback only, reachable by local processes.
      this.server = new PGLiteSocketServer({ db: this.db, host: '127.0.0.1', port: 0, maxConnections: 1 });
      await this.server.start();
      const [host, port] = this.server.getServerConn().split(':') as [string, string];
      this.logger.warn(`Embedded PostgreSQL (PGlite) ${where}, on ${host}:${port} without authentication`);
      return { host, port: Number(port) };
    }
    this.socketDir = await mkdtemp(join(tmpdir(), 'auth-backend-pg-')); // mode 0700
    this.server = new PGLiteSocketServer({
      db: this.db,
      path: join(this.socketDir, `.s.PGSQL.${SOCKET_PORT}`),
      maxConnections: 1,
    });
    await this.server.start();
    this.logger.log(`Embedded PostgreSQL (PGlite) ${where}, on a private socket in ${this.socketDir}`);
    return { host: this.socketDir, port: SOCKET_PORT };
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    await this.db?.close();
    if (this.lockFile) await rm(this.lockFile, { force: true });
    if (this.socketDir) await rm(this.socketDir, { recursive: true, force: true });
    this.server = undefined;
    this.db = undefined;
    this.lockFile = undefined;
    this.socketDir = undefined;
  }

  /**
   * PGlite does not stop a second process from opening the same directory, and two engines
   * writing one data directory corrupt it. A pid file does; one whose process is dead is taken over.
   */
  private async lock(dataDir: string): Promise<void> {
    await mkdir(dataDir, { recursive: true });
    const lockFile = join(dataDir, 'auth-backend.pid');
    // Written aside, then linked into place: the lock file never exists without its pid in it.
    const mine = `${lockFile}.${process.pid}`;
    await writeFile(mine, String(process.pid));
    try {
      for (;;) {
        try {
          await link(mine, lockFile);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const holder = Number(await readFile(lockFile, 'utf8'));
          if (holder === process.pid || !isAlive(holder)) {
            await rm(lockFile, { force: true });
            continue;
          }
          throw new Error(
            `PGLITE_DATA_DIR ${dataDir} is in use by process ${holder}; the embedded database serves one ` +
              'process. Use another directory, or DATABASE_URL for instances that share a database.',
          );
        }
        // Two processes taking over one stale lock: the last link wins, the other sees it here.
        if (Number(await readFile(lockFile, 'utf8')) === process.pid) break;
      }
    } finally {
      await rm(mine, { force: true });
    }
    this.lockFile = lockFile;
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
