import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Requester } from '../../src/http/requester.js';
import { SessionsRepository } from '../../src/sessions/sessions.repository.js';
import { SessionsService } from '../../src/sessions/sessions.service.js';
import { auditRows, logoutAudits, sessionRow } from '../support/rows.js';
import { startApp, type TestApp } from '../support/app.js';
import { register } from '../support/users.js';

// The session lifecycle against the real database of the run (embedded, or PostgreSQL), read
// back from its rows.

const who = (requestId = randomUUID()): Requester => ({ ip: '203.0.113.9', userAgent: 'sessions-spec', requestId });

describe('SessionsService', () => {
  let t: TestApp;
  let sessions: SessionsService;
  let userId: string;
  let email: string;

  beforeAll(async () => {
    t = await startApp();
    sessions = t.app.get(SessionsService);
    ({ userId, email } = await register(t));
  });
  afterAll(() => t.close());

  /** A session of the user, opened under the user's current session epoch. */
  const open = async (ctx = who()) => {
    const [{ epoch }] = await t.dataSource.query('SELECT session_epoch AS epoch FROM users WHERE id = $1', [userId]);
    const opened = await sessions.open({ id: userId, sessionEpoch: epoch, amr: ['pwd'] }, ctx);
    if (!opened) throw new Error('the session did not open');
    return opened;
  };

  it('open: one session row and its login audit row, ending in whole seconds, SESSION_MAX_TTL from now', async () => {
    const ctx = who();
    const before = Date.now();
    const { id, expiresAt } = await open(ctx);

    expect(expiresAt.getTime() % 1000).toBe(0);
    expect(expiresAt.getTime()).toBeGreaterThan(before + 2_592_000_000 - 1000);
    expect(expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 2_592_000_000);
    const session = await sessionRow(t, id);
    expect(session).toMatchObject({ user_id: userId, revoked_at: null, ip: ctx.ip, user_agent: ctx.userAgent });
    expect(session.expires_at.getTime()).toBe(expiresAt.getTime());
    const audits = await auditRows(t, { sessionId: id });
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ event: 'login', user_id: userId, request_id: ctx.requestId, ip: ctx.ip });
  });

  it('raise: appends the methods not yet recorded and moves authenticatedAt, for a live session of its user only; the others stay', async () => {
    const [{ id }, other] = [await open(), await open()];
    await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - interval '1 hour' WHERE user_id = $1`, [userId]);
    const raised = await sessions.raise(id, userId, ['otp', 'pwd', 'otp']);
    expect(raised?.amr).toStrictEqual(['pwd', 'otp']);
    expect(Date.now() - raised!.authenticatedAt.getTime()).toBeLessThan(60_000);
    expect(await sessions.findLive(id)).toMatchObject({ amr: ['pwd', 'otp'], authenticatedAt: raised!.authenticatedAt });
    expect((await sessionRow(t, other.id)).amr).toStrictEqual(['pwd']);
    expect(Date.now() - (await sessionRow(t, other.id)).authenticated_at.getTime()).toBeGreaterThan(3_500_000);
    expect(await sessions.raise(id, randomUUID(), ['hwk'])).toBeNull();
    await sessions.end(other.id, userId, 'logout', who());
    expect(await sessions.raise(other.id, userId, ['otp'])).toBeNull();
  });

  it('findLive: the live session with its user, null once revoked, expired or unknown', async () => {
    const { id, expiresAt } = await open();
    await expect(sessions.findLive(id)).resolves.toStrictEqual({ id, userId, email, roles: [], expiresAt, amr: ['pwd'], authenticatedAt: expect.any(Date) });
    await expect(sessions.findLive(id.toUpperCase())).resolves.toMatchObject({ id });

    await expect(sessions.findLive(randomUUID())).resolves.toBeNull();

    const expired = await open();
    await t.dataSource.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id]);
    await expect(sessions.findLive(expired.id)).resolves.toBeNull();

    await sessions.end(id, userId, 'logout', who());
    await expect(sessions.findLive(id)).resolves.toBeNull();
  });

  it('findLive: lookups made in one turn of the event loop go to the database as one query', async () => {
    const opened = await Promise.all(Array.from({ length: 5 }, () => open()));
    const revoked = opened[4]!;
    await sessions.end(revoked.id, userId, 'logout', who());
    const queries = vi.spyOn(t.app.get(SessionsRepository), 'findLive');
    try {
      const ids = [...opened.map((s) => s.id), opened[0]!.id, randomUUID()];
      const found = await Promise.all(ids.map((id) => sessions.findLive(id)));

      expect(queries).toHaveBeenCalledTimes(1);
      expect(found.map((s) => s?.id ?? null)).toStrictEqual([...opened.slice(0, 4).map((s) => s.id), null, opened[0]!.id, null]);

      // And never a cache: the next turn asks again, and sees a revocation made in between.
      await sessions.end(opened[0]!.id, userId, 'logout', who());
      await expect(sessions.findLive(opened[0]!.id)).resolves.toBeNull();
      expect(queries).toHaveBeenCalledTimes(2);
    } finally {
      queries.mockRestore();
    }
  });

  it('end: ends a live session of that user once, keeping the row, with one logout audit row', async () => {
    const { id } = await open();
    const ctx = who();

    await expect(sessions.end(id, randomUUID(), 'logout', ctx)).resolves.toBe(false); // not that user's
    expect((await sessionRow(t, id)).revoked_at).toBeNull();

    await expect(sessions.end(id, userId, 'logout', ctx)).resolves.toBe(true);
    await expect(sessions.end(id, userId, 'logout', ctx)).resolves.toBe(false);
    expect((await sessionRow(t, id)).revoked_at).toBeInstanceOf(Date);
    const logouts = await logoutAudits(t, id);
    expect(logouts).toHaveLength(1);
    expect(logouts[0]).toMatchObject({ user_id: userId, request_id: ctx.requestId, details: { scope: 'current' } });
  });

  it('end: simultaneous revocations of different sessions share one statement, and each ends its own', async () => {
    const opened = await Promise.all(Array.from({ length: 8 }, () => open()));
    const statements = vi.spyOn(t.app.get(SessionsRepository), 'endEach');
    try {
      const contexts = opened.map(() => who());
      const results = await Promise.all(opened.map((s, i) => sessions.end(s.id, userId, 'logout', contexts[i]!)));
      expect(results).toStrictEqual(opened.map(() => true));
      expect(statements).toHaveBeenCalledTimes(1);
      for (const [i, s] of opened.entries()) {
        expect((await sessionRow(t, s.id)).revoked_at).toBeInstanceOf(Date);
        const logouts = await logoutAudits(t, s.id);
        expect(logouts).toHaveLength(1);
        expect(logouts[0]).toMatchObject({ request_id: contexts[i]!.requestId, details: { scope: 'current' } });
      }
    } finally {
      statements.mockRestore();
    }
  });

  it('end: among 20 simultaneous revocations of one session, exactly one ends it and is audited', async () => {
    const { id } = await open();
    const results = await Promise.all(Array.from({ length: 20 }, () => sessions.end(id, userId, 'logout', who())));
    expect(results.filter((ended) => ended)).toHaveLength(1);
    expect(results.filter((ended) => !ended)).toHaveLength(19);
    expect(await logoutAudits(t, id)).toHaveLength(1);
  });

  it('a statement the database refuses leaves the connection serving the next one (the embedded database has one)', async () => {
    const { id } = await open();
    const repository = t.app.get(SessionsRepository);
    for (let i = 0; i < 3; i++) {
      await expect(repository.findLive(['not-a-uuid'])).rejects.toMatchObject({ code: '22P02' });
      await expect(sessions.findLive(id)).resolves.toMatchObject({ id });
    }
  });
});
