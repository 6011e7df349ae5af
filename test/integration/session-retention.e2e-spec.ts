import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SessionsRepository } from '../../src/sessions/sessions.repository.js';
import { SessionRetentionJob } from '../../src/sessions/session-retention.job.js';
import { type Db, sessionRow, setSessionClock } from '../support/rows.js';
import { lacks } from '../support/requirements.js';
import { startApp, type TestApp } from '../support/app.js';
import { login, register } from '../support/users.js';

// The retention job against the real database: ended sessions past SESSION_RETENTION_DAYS are
// deleted in batches, by one instance at a time; nothing else is touched.

describe('retention: SessionRetentionJob.purge', () => {
  let t: TestApp;
  let retention: SessionRetentionJob;
  beforeAll(async () => {
    t = await startApp();
    retention = t.app.get(SessionRetentionJob);
  });
  afterAll(() => t.close());

  /** Inserts `n` sessions of the user that were revoked 40 days ago; their ids. */
  const insertDoomed = async (db: Db, userId: string, n: number): Promise<string[]> =>
    (
      await db.dataSource.query(
        `INSERT INTO sessions (user_id, created_at, expires_at, last_used_at, revoked_at, ended_reason)
         SELECT $1, now() - interval '50 days', now() - interval '20 days', now() - interval '41 days',
                now() - interval '40 days', 'logout'
           FROM generate_series(1, $2::int)
         RETURNING id`,
        [userId, n],
      )
    ).map((r: { id: string }) => r.id);

  /** Sessions of other users the purge would delete now (30 days after ending, 7-day idle timeout). */
  const dueCount = async (db: Db, exceptUserId: string) =>
    Number(
      (
        await db.dataSource.query(
          `SELECT count(*) AS n FROM sessions WHERE user_id <> $1 AND (revoked_at < now() - interval '30 days'
             OR expires_at < now() - interval '30 days' OR last_used_at < now() - interval '37 days')`,
          [exceptUserId],
        )
      )[0].n,
    );

  const countOf = async (db: Db, userId: string) =>
    Number((await db.dataSource.query('SELECT count(*) AS n FROM sessions WHERE user_id = $1', [userId]))[0].n);

  it('deletes sessions ended more than SESSION_RETENTION_DAYS ago (revoked, expired, idle), keeps the rest and every audit row', async () => {
    const user = await register(t);
    const open = async () => (await login(t, user.email, user.password)).sessionId;
    const s = {
      live: await open(), liveLongUnused: await open(),
      revokedOld: await open(), revokedRecent: await open(),
      expiredOld: await open(), expiredRecent: await open(),
      idleOld: await open(), idleRecent: await open(),
    };
    await t.dataSource.query(`UPDATE sessions SET revoked_at = now(), ended_reason = 'logout' WHERE id = ANY($1::uuid[])`, [
      [s.revokedOld, s.revokedRecent],
    ]);
    await setSessionClock(t, s.revokedOld, 'revoked_at', '-31 days');
    await setSessionClock(t, s.revokedRecent, 'revoked_at', '-29 days');
    await setSessionClock(t, s.expiredOld, 'expires_at', '-31 days');
    await setSessionClock(t, s.expiredRecent, 'expires_at', '-29 days');
    await setSessionClock(t, s.idleOld, 'last_used_at', '-38 days'); // idle since 31 days (7-day timeout)
    await setSessionClock(t, s.idleRecent, 'last_used_at', '-36 days');
    await setSessionClock(t, s.liveLongUnused, 'last_used_at', '-6 days');
    const doomed = [s.revokedOld, s.expiredOld, s.idleOld];
    const auditsOf = async (ids: string[]) =>
      Number((await t.dataSource.query('SELECT count(*) AS n FROM audit_events WHERE session_id = ANY($1::uuid[])', [ids]))[0].n);
    const auditsBefore = await auditsOf(Object.values(s));

    const deleted = await retention.purge();

    expect(deleted).toBeGreaterThanOrEqual(doomed.length);
    for (const [name, id] of Object.entries(s)) {
      expect(await sessionRow(t, id), name).toEqual(doomed.includes(id) ? undefined : expect.objectContaining({ id }));
    }
    expect(await auditsOf(Object.values(s))).toBe(auditsBefore);
    // The next run finds nothing of this user's left to do.
    await retention.purge();
    expect(await countOf(t, user.userId)).toBe(5);
  });

  it('deletes more than one batch (2,500 rows) in one call', async () => {
    const user = await register(t);
    await insertDoomed(t, user.userId, 2500);
    const batches = vi.spyOn(t.app.get(SessionsRepository), 'purgeBatch');
    try {
      const deleted = await retention.purge();
      expect(deleted).toBeGreaterThanOrEqual(2500);
      expect(batches.mock.calls.length).toBeGreaterThanOrEqual(3);
    } finally {
      batches.mockRestore();
    }
    expect(await countOf(t, user.userId)).toBe(0);
  });

  it.skipIf(lacks('postgres', 'two instances purging on one database'))('two instances purging at once on one database: no error, every doomed row gone, no row counted twice', async () => {
    const other = await startApp();
    try {
      const otherRetention = other.app.get(SessionRetentionJob);
      for (let round = 0; round < 3; round++) {
        const user = await register(t);
        await insertDoomed(t, user.userId, 5000);
        const dueElsewhere = await dueCount(t, user.userId);
        const [a, b] = await Promise.all([retention.purge(), otherRetention.purge()]);
        expect(await countOf(t, user.userId), `round ${round}: left behind (a=${a}, b=${b})`).toBe(0);
        // Every row deleted was counted by exactly one of them (other files' rows may be due too).
        expect((a ?? 0) + (b ?? 0)).toBe(5000 + dueElsewhere);
      }
    } finally {
      await other.close();
    }
  }, 60_000);
});
