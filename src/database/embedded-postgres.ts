import { type FileHandle, lstat, mkdir, mkdtemp, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** `host` is a socket directory, as libpq takes it. */
export interface EmbeddedConnection {
  host: string;
  port: number;
}

const SOCKET_PORT = 5432;
const SOCKET_DIR_PREFIX = 'auth-backend-pg-';
const LOCK_FILE = 'auth-backend.lock';
/** A socket folder without a lock file may be a server's between its mkdtemp and its lock. */
const LOCKLESS_GRACE_MS = 60_000;

// Over the wire protocol, so the same `pg` driver; without authentication, so on a private Unix socket.
@Injectable()
export class EmbeddedPostgres {
  private readonly logger = new Logger(EmbeddedPostgres.name);
  private db?: PGlite;
  private server?: PGLiteSocketServer;
  private dataDirLock?: FileHandle;
  private socketDir?: string;
  private socketDirLock?: FileHandle;

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(dataDir: string): Promise<EmbeddedConnection> {
    if (!dataDir.startsWith('memory://')) await this.lockDataDir(dataDir);
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
    await removeStaleSocketDirs();
    this.socketDir = await mkdtemp(join(tmpdir(), SOCKET_DIR_PREFIX)); // mode 0700
    // Locked before it takes its name, so that no other server's scan ever finds it unlocked.
    const pending = join(this.socketDir, `${LOCK_FILE}.new`);
    this.socketDirLock = await lockFile(pending, 'wx'); // a new file: nobody else can hold it
    await rename(pending, join(this.socketDir, LOCK_FILE));
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
    // The lock file stays: were it removed, two processes could come to lock two different files.
    await this.dataDirLock?.close();
    if (this.socketDir) await rm(this.socketDir, { recursive: true, force: true });
    await this.socketDirLock?.close();
    this.server = undefined;
    this.db = undefined;
    this.dataDirLock = undefined;
    this.socketDir = undefined;
    this.socketDirLock = undefined;
  }

  // Two engines on one directory corrupt it; the system drops a file lock however its process dies.
  private async lockDataDir(dataDir: string): Promise<void> {
    await mkdir(dataDir, { recursive: true });
    const file = join(dataDir, LOCK_FILE);
    const lock = await lockFile(file, 'a+');
    if (!lock) {
      // For the message only: the pid in the file may be stale, or not written yet.
      const pid = /^[1-9]\d*$/.exec((await readFile(file, 'utf8').catch(() => '')).trim())?.[0];
      throw new Error(
        `PGLITE_DATA_DIR ${dataDir} is in use by another process` +
          `${pid ? ` (pid ${pid} according to its lock file)` : ''}; the embedded database serves one ` +
          'process. Use another directory, or DATABASE_URL for instances that share a database.',
      );
    }
    await lock.truncate(0);
    await lock.write(String(process.pid));
    this.dataDirLock = lock;
  }
}

/** Undefined when another open file holds the lock. */
async function lockFile(path: string, flags: string): Promise<FileHandle | undefined> {
  // Loaded here: a native addon missing on a platform must not stop a server that uses DATABASE_URL.
  const { tryLock } = await import('fs-native-extensions');
  const handle = await open(path, flags);
  let locked = false;
  try {
    locked = tryLock(handle.fd);
  } finally {
    if (!locked) await handle.close();
  }
  return locked ? handle : undefined;
}

// Servers killed without stop() leave their socket folders behind in the temp directory.
async function removeStaleSocketDirs(): Promise<void> {
  const root = tmpdir();
  for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || !entry.name.startsWith(SOCKET_DIR_PREFIX)) continue;
    const dir = join(root, entry.name);
    try {
      if (await ownerIsGone(dir)) await rm(dir, { recursive: true, force: true });
    } catch {
      // Another user's folder (EACCES), or one removed meanwhile: not ours to judge.
    }
  }
}

async function ownerIsGone(dir: string): Promise<boolean> {
  let lock: FileHandle | undefined;
  try {
    lock = await lockFile(join(dir, LOCK_FILE), 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // An older release's server, still running, has no lock file but answers on its socket.
    return Date.now() - (await lstat(dir)).mtimeMs > LOCKLESS_GRACE_MS && !(await answers(join(dir, `.s.PGSQL.${SOCKET_PORT}`)));
  }
  await lock?.close();
  return lock !== undefined;
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
