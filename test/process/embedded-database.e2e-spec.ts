import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { type FileHandle, access, mkdir, mkdtemp, open, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryLock } from 'fs-native-extensions';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { lacks } from '../support/requirements.js';
import { startApp, type TestApp } from '../support/app.js';
import { meRequest } from '../support/requests.js';
import { login, register } from '../support/users.js';

// About the embedded database itself, so it runs on the embedded run only.
const run = describe.skipIf(lacks('embedded', 'the embedded database itself'));
// Windows serves on loopback TCP: no socket folder to leave behind.
const unixOnly = it.skipIf(lacks('unix', 'the embedded database\'s socket folders'));

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

run('embedded database on disk (PGLITE_DATA_DIR)', () => {
  const parents: string[] = [];
  let server: ServerProcess | undefined;

  /** A data directory of this test's own, not created yet. */
  async function dataDir(): Promise<string> {
    const parent = await mkdtemp(join(tmpdir(), 'auth-pglite-'));
    parents.push(parent);
    return join(parent, 'data');
  }

  /** The app on `dir` took the directory over: it serves, and a second start is refused, naming this process. */
  async function expectHolding(t: TestApp, dir: string): Promise<void> {
    const user = await register(t);
    const session = await login(t, user.email, user.password);
    await meRequest(t, session.token).expect(200);
    await expect(startApp({ PGLITE_DATA_DIR: dir })).rejects.toThrow(`is in use by another process (pid ${process.pid} according to its lock file)`);
  }

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(async () => {
    for (const parent of parents) await rm(parent, { recursive: true, force: true });
  });

  it('serves one process at a time, and keeps its data across restarts', async () => {
    const dir = await dataDir();
    server = await startServerProcess({ PGLITE_DATA_DIR: dir });
    const user = await register(server);

    // A second process on the same directory would corrupt it: it is refused, naming the holder.
    await expect(startApp({ PGLITE_DATA_DIR: dir })).rejects.toThrow(
      /PGLITE_DATA_DIR .* is in use by another process \(pid \d+ according to its lock file\)/,
    );

    await server.stop();
    server = undefined;

    const t = await startApp({ PGLITE_DATA_DIR: dir });
    try {
      const session = await login(t, user.email, user.password);
      await meRequest(t, session.token).expect(200);
    } finally {
      await t.close();
    }
  }, 120_000);

  it('starts over an empty lock file or pid file, which names no process', async () => {
    const dir = await dataDir();
    await mkdir(dir, { recursive: true });
    // What a process killed before writing its pid leaves, in this release's file and the former one's.
    await writeFile(join(dir, 'auth-backend.lock'), '');
    await writeFile(join(dir, 'auth-backend.pid'), '');

    const t = await startApp({ PGLITE_DATA_DIR: dir });
    try {
      await expectHolding(t, dir);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('starts over a lock file or pid file naming a live process that does not hold the directory', async () => {
    const dir = await dataDir();
    await mkdir(dir, { recursive: true });
    // A pid reused by an unrelated process, as after a crash and a reboot.
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(dir, 'auth-backend.lock'), String(other.pid));
      await writeFile(join(dir, 'auth-backend.pid'), String(other.pid));

      const t = await startApp({ PGLITE_DATA_DIR: dir });
      try {
        await expectHolding(t, dir);
      } finally {
        await t.close();
      }
    } finally {
      other.kill('SIGKILL');
    }
  }, 60_000);

  unixOnly('is free again once its server is killed (kill -9), and the next start clears its socket folder', async () => {
    const dir = await dataDir();
    server = await startServerProcess({ PGLITE_DATA_DIR: dir, LOG_LEVEL: 'info' });
    const socketDir = /on a private socket in ([^"\s]+)/.exec(server.output())?.[1];
    expect(socketDir, server.output()).toMatch(/auth-backend-pg-/);
    await server.kill('SIGKILL');
    server = undefined;
    expect(await exists(socketDir!)).toBe(true); // nothing ran to remove it

    const t = await startApp({ PGLITE_DATA_DIR: dir });
    try {
      expect(await exists(socketDir!)).toBe(false);
    } finally {
      await t.close();
    }
  }, 120_000);
});

run('embedded database socket folders left in the temp directory', () => {
  unixOnly('are removed at start when their server is gone, and only then', async () => {
    const folder = () => mkdtemp(join(tmpdir(), 'auth-backend-pg-'));
    const held = await folder(); // a live server's: its lock is held
    const freed = await folder(); // a dead server's: its lock file is there, unlocked
    const oldLockless = await folder(); // an older release's, or a server's killed before its lock
    const newLockless = await folder(); // maybe a server that is starting right now
    const oldListening = await folder(); // an older release's server, still running
    const listener = createServer().listen(join(oldListening, '.s.PGSQL.5432'));
    let lock: FileHandle | undefined;
    try {
      lock = await open(join(held, 'auth-backend.lock'), 'a+');
      expect(tryLock(lock.fd)).toBe(true);
      await writeFile(join(freed, 'auth-backend.lock'), '');
      const twoMinutesAgo = new Date(Date.now() - 120_000);
      await utimes(oldLockless, twoMinutesAgo, twoMinutesAgo);
      await utimes(oldListening, twoMinutesAgo, twoMinutesAgo);

      const t = await startApp();
      await t.close();

      expect(await exists(held)).toBe(true);
      expect(await exists(freed)).toBe(false);
      expect(await exists(oldLockless)).toBe(false);
      expect(await exists(newLockless)).toBe(true);
      expect(await exists(oldListening)).toBe(true);
    } finally {
      listener.close();
      await lock?.close();
      for (const dir of [held, freed, oldLockless, newLockless, oldListening]) await rm(dir, { recursive: true, force: true });
    }
  });
});

run('embedded database where Unix sockets are not an option (Windows)', () => {
  it('serves over loopback TCP instead, through the same pg driver', async () => {
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    Object.defineProperty(process, 'platform', { value: 'win32' });
    let t: Awaited<ReturnType<typeof startApp>> | undefined;
    try {
      t = await startApp();
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
    try {
      const options = t.dataSource.options as { host?: string; port?: number };
      expect(options.host).toBe('127.0.0.1');
      expect(options.port).toBeGreaterThan(0);
      const user = await register(t);
      const session = await login(t, user.email, user.password);
      await meRequest(t, session.token).expect(200);
    } finally {
      await t.close();
    }
  });
});
