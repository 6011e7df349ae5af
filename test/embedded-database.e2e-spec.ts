import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from './support/server-process.js';
import { API, bearer, login, onPostgres, register, startApp } from './support/test-app.js';

// About the embedded database itself, so it runs on the embedded run only.
if (onPostgres) console.log('embedded-database.e2e-spec.ts skipped: it tests the embedded database, not PostgreSQL');
const run = onPostgres ? describe.skip : describe;

run('embedded database on disk (PGLITE_DATA_DIR)', () => {
  let dir: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'auth-pglite-')), 'data');
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves one process at a time, and keeps its data across restarts', async () => {
    server = await startServerProcess({ PGLITE_DATA_DIR: dir });
    const user = await register(server);

    // A second process on the same directory would corrupt it: it is refused, naming the holder.
    await expect(startApp({ PGLITE_DATA_DIR: dir })).rejects.toThrow(/PGLITE_DATA_DIR .* is in use by process \d+/);

    await server.stop();
    server = undefined;

    const t = await startApp({ PGLITE_DATA_DIR: dir });
    try {
      const session = await login(t, user.email, user.password);
      await t.http().get(`${API}/me`).set(bearer(session.token)).expect(200);
    } finally {
      await t.close();
    }
  }, 120_000);
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
      await t.http().get(`${API}/me`).set(bearer(session.token)).expect(200);
    } finally {
      await t.close();
    }
  });
});
