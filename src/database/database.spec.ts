import { describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { Database } from './database.js';
import type { EmbeddedPostgres } from './embedded-postgres.js';

// Database.transaction on a fake pool: what it sends on which connection, and when it runs again.

/** A pool of fake connections that log what they are sent; `fail` decides a statement's error. */
function fakePool(fail: (sql: string, n: number) => unknown = () => undefined) {
  const log: string[] = [];
  const released: Array<Error | undefined> = [];
  let connections = 0;
  const pool = {
    async connect() {
      const id = ++connections;
      return {
        async query(config: string | { text: string }) {
          const sql = typeof config === 'string' ? config : config.text;
          log.push(`${id}: ${sql}`);
          const err = fail(sql, log.filter((line) => line.endsWith(`: ${sql}`)).length);
          if (err) throw err;
          return { rows: [{ sql }] };
        },
        on() {},
        off() {},
        release(err?: Error | boolean) {
          released.push(err instanceof Error ? err : undefined);
        },
      };
    },
  };
  const dataSource = { options: {}, isInitialized: true, driver: { master: pool } } as unknown as DataSource;
  const database = new Database(dataSource, { running: false } as EmbeddedPostgres);
  return { database, log, released };
}

const pgError = (code: string) => Object.assign(new Error(`error ${code}`), { code, severity: 'ERROR' });

describe('Database.transaction', () => {
  it('commits what fn did, every query of fn on the one connection, nested transactions included', async () => {
    const { database, log, released } = fakePool();
    const result = await database.transaction(async () => {
      await database.query('SELECT 1');
      await database.transaction(() => database.query('SELECT 2'));
      return 'done';
    });
    expect(result).toBe('done');
    expect(log).toStrictEqual(['1: BEGIN', '1: SELECT 1', '1: SELECT 2', '1: COMMIT']);
    expect(released).toStrictEqual([undefined]);
    expect(database.retries).toBe(0);
  });

  it('rolls back when fn throws, rethrows that error, and returns the sound connection to the pool', async () => {
    const { database, log, released } = fakePool();
    const refusal = new Error('an application refusal');
    await expect(
      database.transaction(async () => {
        await database.query('UPDATE sessions SET revoked_at = now()');
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(log).toStrictEqual(['1: BEGIN', '1: UPDATE sessions SET revoked_at = now()', '1: ROLLBACK']);
    expect(released).toStrictEqual([undefined]);
    expect(database.retries).toBe(0);
  });

  it('closes the connection when the ROLLBACK itself fails', async () => {
    const dropped = new Error('Connection terminated unexpectedly');
    const { database, released } = fakePool((sql) => (sql === 'ROLLBACK' ? dropped : undefined));
    await expect(database.transaction(() => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(released).toHaveLength(1);
    expect(released[0]).toBeInstanceOf(Error);
  });

  it.each(['40P01', '40001'])('runs fn again from the start after %s, on a fresh BEGIN, and counts the retries', async (code) => {
    const { database, log } = fakePool();
    let runs = 0;
    const result = await database.transaction(async () => {
      runs++;
      await database.query(`SELECT ${runs}`);
      if (runs < 3) throw pgError(code);
      return runs;
    });
    expect(result).toBe(3);
    expect(log).toStrictEqual([
      '1: BEGIN', '1: SELECT 1', '1: ROLLBACK',
      '2: BEGIN', '2: SELECT 2', '2: ROLLBACK',
      '3: BEGIN', '3: SELECT 3', '3: COMMIT',
    ]);
    expect(database.retries).toBe(2);
  });

  it('runs it again when the COMMIT could not serialize', async () => {
    const { database, log } = fakePool((sql, n) => (sql === 'COMMIT' && n === 1 ? pgError('40001') : undefined));
    await expect(database.transaction(async () => 'ok')).resolves.toBe('ok');
    expect(log).toStrictEqual(['1: BEGIN', '1: COMMIT', '1: ROLLBACK', '2: BEGIN', '2: COMMIT']);
    expect(database.retries).toBe(1);
  });

  it('gives up after 5 runs, with the last error', async () => {
    const { database, log } = fakePool();
    let runs = 0;
    const err = pgError('40P01');
    await expect(
      database.transaction(async () => {
        runs++;
        throw err;
      }),
    ).rejects.toBe(err);
    expect(runs).toBe(5);
    expect(log.filter((line) => line.endsWith('BEGIN'))).toHaveLength(5);
    expect(database.retries).toBe(4);
  });

  it.each([
    ['a unique violation', pgError('23505')],
    ['a lock timeout', pgError('55P03')],
    ['an error without a code', new Error('refused')],
  ])('does not run fn again after %s', async (_, err) => {
    const { database, log } = fakePool();
    let runs = 0;
    await expect(
      database.transaction(async () => {
        runs++;
        throw err;
      }),
    ).rejects.toBe(err);
    expect(runs).toBe(1);
    expect(log).toStrictEqual(['1: BEGIN', '1: ROLLBACK']);
    expect(database.retries).toBe(0);
  });
});
