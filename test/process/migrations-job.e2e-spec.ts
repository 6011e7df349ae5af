import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realPostgresUrl } from '../support/app.js';
import { lacks } from '../support/requirements.js';
import { runUntilExit, startServerProcess } from '../support/server-process.js';

// Migrations as a job of their own (MIGRATIONS_AT_START=false, `npm run migrate`), on a fresh
// PostgreSQL database: an instance started before the job refuses a schema it does not know.

describe.skipIf(lacks('postgres', 'migrations run as a job on a fresh database'))('npm run migrate and MIGRATIONS_AT_START=false', () => {
  const name = `migrate_job_${randomBytes(4).toString('hex')}`;
  const admin = () => new pg.Client({ connectionString: realPostgresUrl });
  const url = () => {
    const u = new URL(realPostgresUrl!);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const sql = async (text: string) => {
    const client = admin();
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };

  beforeAll(() => sql(`CREATE DATABASE ${name}`));
  afterAll(() => sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

  it('refuses to start with pending migrations, migrates once by the command, then serves', async () => {
    const refused = await runUntilExit({ DATABASE_URL: url(), MIGRATIONS_AT_START: 'false' });
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('Pending migrations and MIGRATIONS_AT_START=false: run `npm run migrate` first');

    // As in a production image: NODE_ENV=production and no JWT_SECRET, which migrations do not need.
    const first = await runUntilExit({ DATABASE_URL: url(), NODE_ENV: 'production', JWT_SECRET: '' }, 'migrate');
    expect(first).toMatchObject({ code: 0 });
    expect(first.output).toContain('Migrations applied');
    const again = await runUntilExit({ DATABASE_URL: url() }, 'migrate');
    expect(again).toMatchObject({ code: 0 });
    expect(again.output).toContain('No pending migration');

    const server = await startServerProcess({ DATABASE_URL: url(), MIGRATIONS_AT_START: 'false', DATABASE_POOL_SIZE: '3' });
    try {
      await server.http().get('/health/ready').expect(200);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('the command needs DATABASE_URL: the embedded database migrates itself', async () => {
    const { code, output } = await runUntilExit({}, 'migrate');
    expect(code).toBe(1);
    expect(output).toContain('DATABASE_URL is required');
  }, 60_000);
});
