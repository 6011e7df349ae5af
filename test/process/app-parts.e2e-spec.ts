import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, realPostgresUrl } from '../support/app.js';
import { type CapturedProcess, spawnCaptured } from '../support/captured-process.js';
import { freePort, listening } from '../support/ports.js';
import { bearer } from '../support/requests.js';
import { lacks } from '../support/requirements.js';
import { registerAndLogin } from '../support/users.js';
import { composedClone, ROOT } from '../support/your-module.js';

// A clone with the docs' example module declared in src/app.parts.ts, run as a team runs it: the
// four readers of that file (`npm start`, `npm run migrate`, the TypeORM CLI, the OpenAPI writer
// and the client generated from its document) each see the module, on the run's database.

const ADMIN_TOKEN = 'operator-token-of-the-composed-clone-0123456789';

describe('a module declared in src/app.parts.ts', () => {
  let clone: string;
  const databases: string[] = [];

  /** A fresh database on the postgres run (dropped afterwards), else a fresh embedded one. */
  const freshDatabase = async (): Promise<Record<string, string>> => {
    if (!onPostgres) return { PGLITE_DATA_DIR: 'memory://' };
    const name = `app_parts_${randomBytes(4).toString('hex')}`;
    await sql(realPostgresUrl!, `CREATE DATABASE ${name}`);
    databases.push(name);
    const url = new URL(realPostgresUrl!);
    url.pathname = `/${name}`;
    return { DATABASE_URL: url.toString() };
  };

  const run = (command: string, args: string[], env: Record<string, string> = {}): CapturedProcess => spawnCaptured(command, args, clone, env);

  const toTheEnd = async (command: string, args: string[], env: Record<string, string> = {}) => {
    const { child, output, exited } = run(command, args, env);
    const code = await Promise.race([exited, sleep(60_000).then(() => (child.kill('SIGKILL'), null))]);
    return { code, output: output() };
  };

  /** `npm start` without its build (prestart: `nest build`): the clone is compiled already. Logs at info: the URL line. */
  const npmStart = async (env: Record<string, string>) => {
    const port = await freePort();
    const started = run('npm', ['start', '--ignore-scripts'], { PORT: String(port), LOG_LEVEL: 'info', ...env });
    const deadline = Date.now() + 60_000;
    while (!started.output().includes('Listening on')) {
      if (started.child.exitCode !== null || Date.now() > deadline) {
        started.child.kill('SIGKILL');
        throw new Error(`npm start did not serve:\n${started.output()}`);
      }
      await sleep(200);
    }
    return { ...started, port, http: () => request(`http://127.0.0.1:${port}`) };
  };

  beforeAll(async () => {
    clone = await composedClone();
  }, 120_000);
  afterAll(async () => {
    for (const name of databases) await sql(realPostgresUrl!, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  it('the OpenAPI writer puts its routes into openapi.json, and the generator into the typed client', async () => {
    const written = await toTheEnd(process.execPath, ['dist/src/openapi.js', 'openapi.json']);
    expect(written).toMatchObject({ code: 0 });
    const document = JSON.parse(await readFile(join(clone, 'openapi.json'), 'utf8'));
    const operations = (path: string) => Object.values(document.paths[path] ?? {}).map((operation) => (operation as { operationId: string }).operationId);
    expect(operations('/api/v1/notes/about')).toStrictEqual(['aboutNotes']);
    expect(operations('/api/v1/notes/me')).toStrictEqual(['whoAmI']);
    expect(operations('/api/v1/notes').sort()).toStrictEqual(['createNote', 'listNotes']);
    expect(operations('/api/v1/notes/{id}')).toStrictEqual(['findNote']);

    // packages/client's own generator, as `npm run generate --workspace packages/client` runs it.
    const generator = join(ROOT, 'packages', 'client', 'node_modules', '.bin', 'openapi-typescript');
    const generated = await toTheEnd(generator, ['openapi.json', '--output', 'schema.ts']);
    expect(generated).toMatchObject({ code: 0 });
    const schema = await readFile(join(clone, 'schema.ts'), 'utf8');
    for (const path of ['/api/v1/notes', '/api/v1/notes/about', '/api/v1/notes/me', '/api/v1/notes/{id}']) expect(schema).toContain(`"${path}": {`);
    expect(schema).toMatch(/createNote: \{/);

    // The client's calls of its routes typecheck (openapi-fetch, as packages/client calls them), and a wrong body does not.
    await writeFile(
      join(clone, 'calls.ts'),
      [
        "import createClient from 'openapi-fetch';",
        "import type { paths } from './schema.js';",
        "const api = createClient<paths>({ baseUrl: 'http://localhost:3000' });",
        "const created = await api.POST('/api/v1/notes', { body: { title: 'Lista de la compra' } });",
        'export const title: string | undefined = created.data?.data.title;',
        "await api.GET('/api/v1/notes/{id}', { params: { path: { id: 'x' } } });",
        '// @ts-expect-error a body the route does not declare',
        "await api.POST('/api/v1/notes', { body: { name: 'x' } });",
      ].join('\n'),
    );
    const tsc = [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--ignoreConfig', '--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', 'calls.ts'];
    const checked = await toTheEnd(process.execPath, tsc);
    expect(checked).toStrictEqual({ code: 0, output: '' });
  }, 120_000);

  it('npm start applies its migration and serves its routes; prints its URL and real paths; stops on SIGTERM to npm', async () => {
    const adminPort = await freePort();
    const server = await npmStart({ ...(await freshDatabase()), ADMIN_PORT: String(adminPort), ADMIN_TOKENS: ADMIN_TOKEN });
    try {
      const url = `http://localhost:${server.port}`;
      expect(server.output()).toContain(`Listening on ${url}, Swagger UI at ${url}/api/docs`);
      for (const route of ['/health', '/health/ready', '/.well-known/jwks.json', '/api/v1/notes/about', '/api/v1/auth/login']) {
        expect(server.output()).toContain(`Mapped {${route}, `);
      }
      expect(server.output()).not.toContain('/api/v1/health');
      expect(server.output()).not.toContain('/api/v1/.well-known');

      await server.http().get('/api/v1/notes/about').expect(200);
      const user = await registerAndLogin(server);
      const create = () => server.http().post('/api/v1/notes').set(bearer(user.token)).send({ title: 'primera' });
      expect((await create()).status).toBe(403);
      // The role through the operator API, as docs/extending.md shows it.
      await request(`http://127.0.0.1:${adminPort}`)
        .put(`/admin/v1/users/${user.userId}/roles`)
        .set(bearer(ADMIN_TOKEN))
        .send({ roles: ['editor'] })
        .expect(200);
      // The notes table exists: its migration ran at start.
      expect((await create()).status).toBe(201);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await Promise.race([server.exited, sleep(15_000).then(() => 'still running')])).toBe(0);
    expect(await listening(server.port)).toBe(false);
    expect(await listening(adminPort)).toBe(false);
  }, 120_000);

  it.skipIf(lacks('postgres', 'npm run migrate and the TypeORM CLI on a real PostgreSQL'))(
    'npm run migrate and the migration CLI apply its migration and know its entity; an instance without them says to run npm run migrate',
    async () => {
      const database = await freshDatabase();
      const notesTable = async () => (await sql(database.DATABASE_URL, `SELECT to_regclass('notes') AS t`))[0].t;

      const refused = await toTheEnd('npm', ['start', '--ignore-scripts'], { ...database, PORT: String(await freePort()), MIGRATIONS_AT_START: 'false' });
      expect(refused.code).toBe(1);
      expect(refused.output).toContain('run `npm run migrate` first');

      const migrated = await toTheEnd('npm', ['run', 'migrate'], database);
      expect(migrated).toMatchObject({ code: 0 });
      expect(migrated.output).toContain('Migrations applied');
      expect(await notesTable()).toBe('notes');

      // As `npm run migration:revert` and `migration:run` run it, after their `nest build`.
      const typeorm = (command: string, ...args: string[]) =>
        toTheEnd(process.execPath, [join(ROOT, 'node_modules', 'typeorm', 'cli.js'), command, '-d', 'dist/ormconfig.js', ...args], database);
      const reverted = await typeorm('migration:revert');
      expect(reverted).toMatchObject({ code: 0 });
      expect(reverted.output).toContain('Notes1790000000000');
      expect(await notesTable()).toBeNull();
      const ran = await typeorm('migration:run');
      expect(ran).toMatchObject({ code: 0 });
      expect(ran.output).toContain('Notes1790000000000');
      expect(await notesTable()).toBe('notes');
      // The generator knows its entity: a constraint gone from the table, it writes it back.
      await sql(database.DATABASE_URL, 'ALTER TABLE notes DROP CONSTRAINT "UQ_notes_user_title"');
      const generated = await typeorm('migration:generate', '--dryrun', 'src/notes/unique-title');
      expect(generated).toMatchObject({ code: 0 });
      expect(generated.output).toContain('CONSTRAINT "UQ_notes_user_title" UNIQUE');
      await sql(database.DATABASE_URL, 'ALTER TABLE notes ADD CONSTRAINT "UQ_notes_user_title" UNIQUE (user_id, title)');

      const server = await npmStart({ ...database, MIGRATIONS_AT_START: 'false' });
      try {
        await server.http().get('/api/v1/notes/about').expect(200);
      } finally {
        server.child.kill('SIGTERM');
      }
      expect(await server.exited).toBe(0);
    },
    180_000,
  );
});

async function sql(url: string, text: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}
