import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { expect } from 'vitest';

// Row locks held from outside the app, on a real PostgreSQL: to stop one of the app's statements
// at the row it needs, and to see which rows it holds.

/**
 * A direct connection holding row locks in an open transaction: what `sql` selects FOR UPDATE.
 * While held, the app's statement that needs one of those rows waits on the server.
 */
export async function holdRows(connectionString: string, sql: string, parameters: unknown[]) {
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query('BEGIN');
  expect((await client.query(sql, parameters)).rowCount).toBeGreaterThan(0);
  const self: number = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const backendOf = async (pid: number) =>
    (await client.query('SELECT pid, query, state FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0];
  let released = false;
  return {
    /** The app's backend waiting behind the lock, once there is one: its pid and statement. */
    async blocked(): Promise<{ pid: number; query: string }> {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
        // Inside a transaction, pg_stat_activity is read once and kept: read it afresh.
        await client.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await client.query('SELECT pid, query FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', [
          self,
        ]);
        if (rows.length) {
          expect(rows).toHaveLength(1);
          return rows[0];
        }
      }
      throw new Error('no statement of the app waited behind the lock');
    },
    /** Whether backend `pid` holds a row-change lock on `table` in its open transaction. */
    writing: async (pid: number, table: string) =>
      (
        await client.query(
          `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE l.pid = $1 AND c.relname = $2 AND l.mode = 'RowExclusiveLock' AND l.granted`,
          [pid, table],
        )
      ).rowCount === 1,
    /** Runs one more statement in the transaction holding the rows (to lock more of them: it may wait). */
    also: (sql: string, parameters: unknown[]) => client.query(sql, parameters),
    /** Ends backend `pid` on the server, as when the server side of the connection dies too. */
    async kill(pid: number) {
      expect((await client.query('SELECT pg_terminate_backend($1) AS done', [pid])).rows[0].done).toBe(true);
    },
    /** Lets the rows go, then waits until backend `pid` (if given) is gone from the server. */
    async release(pid?: number) {
      if (released) return;
      released = true;
      try {
        await client.query('ROLLBACK');
        for (const deadline = Date.now() + 10_000; pid !== undefined && (await backendOf(pid)); await sleep(20)) {
          if (Date.now() > deadline) throw new Error(`backend ${pid} still there after the cut`);
        }
      } finally {
        await client.end();
      }
    },
  };
}

export type HeldRows = Awaited<ReturnType<typeof holdRows>>;
