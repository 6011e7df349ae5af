import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Requester } from '../../src/http/requester.js';
import { Database } from '../../src/database/database.js';
import { SessionsRepository } from '../../src/sessions/sessions.repository.js';
import { SessionsService } from '../../src/sessions/sessions.service.js';
import { realPostgresUrl, startApp, type TestApp } from '../support/app.js';
import { lacks } from '../support/requirements.js';
import { holdRows } from '../support/row-locks.js';
import { sessionRow } from '../support/rows.js';
import { register } from '../support/users.js';

// Under load, the batched `last_used_at` touch and the batched ends of sessions locked the same
// rows in different orders and PostgreSQL answered some of them with a deadlock (40P01), which
// reached clients as 500. Now a touch never waits for a row, every end locks its rows in the order
// of their ids before it takes the event order lock, and a deadlock that still happens is run
// again. Each rule is checked here with a row held from outside at the point that matters.

const who = (): Requester => ({ ip: '203.0.113.7', userAgent: 'row-locks-spec', requestId: randomUUID() });

describe.skipIf(lacks('postgres', 'row locks between statements on several connections'))('the order in which sessions are locked', () => {
  let t: TestApp;
  let sessions: SessionsService;
  let repository: SessionsRepository;

  beforeAll(async () => {
    t = await startApp();
    sessions = t.app.get(SessionsService);
    repository = t.app.get(SessionsRepository);
  });
  afterAll(() => t?.close());

  /**
   * Two live sessions of a new user, due for a touch, lower id first, whose rows a scan of the
   * table or of its user_id index meets in the other order: a statement that locks in scan order
   * takes the higher row first. The lower one is rewritten last, with a change of an indexed
   * column so that its index entries move too; the new version can still land on an earlier
   * page with room, so the pair is made again until the scan order is the one wanted.
   */
  async function twoSessions() {
    for (let attempt = 0; attempt < 10; attempt++) {
      const { userId } = await register(t);
      const opened = await Promise.all([0, 1].map(() => sessions.open({ id: userId, sessionEpoch: 0, amr: ['pwd'] }, who())));
      const [low, high] = opened.map((s) => s!.id).sort() as [string, string];
      await t.dataSource.query(`UPDATE sessions SET last_used_at = now() - interval '2 minutes' WHERE user_id = $1`, [userId]);
      await t.dataSource.query(`UPDATE sessions SET expires_at = expires_at - interval '1 second' WHERE id = $1`, [low]);
      const bySeqScan = await t.dataSource.query('SELECT id FROM sessions WHERE user_id::text = $1', [userId]);
      const byIndex = await t.dataSource.query('SELECT id FROM sessions WHERE user_id = $1', [userId]);
      if ([...bySeqScan, ...byIndex].map((r: { id: string }) => r.id).join() === [high, low, high, low].join()) return { userId, low, high };
    }
    throw new Error('could not lay two sessions out against the order of their ids');
  }

  it('a touch skips a row another transaction holds, and touches the rest at once', async () => {
    const { low, high } = await twoSessions();
    const lock = await holdRows(realPostgresUrl!, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [low]);
    try {
      const before = (await sessionRow(t, high)).last_used_at.getTime();
      await repository.touch([low, high]);
      expect((await sessionRow(t, high)).last_used_at.getTime()).toBeGreaterThan(before);
    } finally {
      await lock.release();
    }
  });

  for (const [name, end] of [
    ['an end of every session of a user', (s: { userId: string }) => sessions.endAll(s.userId, null, 'logout_all', who())],
    ['a batch of single ends', (s: { userId: string; low: string; high: string }) => Promise.all([s.high, s.low].map((id) => sessions.end(id, s.userId, 'logout', who())))],
  ] as const) {
    it(`${name} locks its rows lowest id first: waiting for the lower, it holds nothing of the higher`, async () => {
      const pair = await twoSessions();
      const lock = await holdRows(realPostgresUrl!, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [pair.low]);
      let ending: Promise<unknown> | undefined;
      try {
        ending = end(pair);
        await lock.blocked();
        // The higher row is free: another transaction takes it without waiting.
        const probe = await holdRows(realPostgresUrl!, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE NOWAIT', [pair.high]);
        await probe.release();
      } finally {
        await lock.release();
      }
      await ending;
      expect((await sessionRow(t, pair.low)).revoked_at).not.toBeNull();
      expect((await sessionRow(t, pair.high)).revoked_at).not.toBeNull();
    });
  }

  it('an end chosen as a deadlock victim is run again, and ends every session', async () => {
    const pair = await twoSessions();
    const database = t.app.get(Database);
    const retriesBefore = database.retries;
    // The outside transaction holds the higher row, and checks for deadlocks only after the app has.
    const lock = await holdRows(realPostgresUrl!, `SELECT set_config('deadlock_timeout', '20s', true), 1 FROM sessions WHERE id = $1 FOR UPDATE`, [pair.high]);
    try {
      const ending = sessions.endAll(pair.userId, null, 'logout_all', who());
      await lock.blocked();
      // The app holds the lower row and waits for the higher; the outside asks for the lower: a cycle,
      // which the app's backend finds first (its deadlock_timeout, 1 s, ran out first).
      const cycle = lock.also('SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [pair.low]);
      await cycle;
      await lock.release();
      expect(await ending).toBe(2);
    } finally {
      await lock.release();
    }
    expect(database.retries).toBeGreaterThan(retriesBefore);
  });
});
