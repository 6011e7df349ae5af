import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

// Which of the app's statements wait on a lock right now, seen from a connection of the test's own
// (a real PostgreSQL only): to know that every side of a race is parked before letting them go.

/** Resolves once exactly `n` statements matching `pattern` (ILIKE) wait on a lock in this database. */
export async function lockWaiters(connectionString: string, pattern: string, n: number): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    let seen = -1;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE $1 AND pid <> pg_backend_pid()`,
        [pattern],
      );
      seen = rows[0].n;
      if (seen === n) return;
    }
    throw new Error(`expected ${n} statements waiting on a lock (${pattern}), saw ${seen}`);
  } finally {
    await client.end();
  }
}
