import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectInvalidRequest, expectInvalidToken } from '../support/expectations.js';
import { type Db, sessionRow, setSessionClock } from '../support/rows.js';
import { type HttpClient, startApp, type TestApp } from '../support/app.js';
import { envelope, LOGGED_OUT_BODY, MESSAGES } from '../support/messages.js';
import { API, bearer, endSessionRequest, loginRequest, logoutRequest, meRequest, sessionsRequest } from '../support/requests.js';
import { login, register, registerAndLogin } from '../support/users.js';
import { decodePart } from '../support/tokens.js';

// Sessions a user controls: logout scopes, the session list, ending a session by id, the idle and
// absolute timeouts; checked on the rows. Retention is test/integration/session-retention, CORS
// test/e2e/cors.

const LIVE_KEYS = ['amr', 'createdAt', 'current', 'device', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent'];
const ENDED_KEYS = [...LIVE_KEYS, 'endReason', 'endedAt'].sort();
const NOT_FOUND_BODY = envelope(MESSAGES.notFound);

/** Another login of the user, from a browser named `userAgent`. */
async function loginFrom(t: HttpClient, user: { email: string; password: string }, userAgent = 'e2e-browser') {
  const res = await loginRequest(t, user.email, user.password).set('User-Agent', userAgent).expect(200);
  return { token: res.body.data.accessToken as string, sessionId: res.body.data.sessionId as string };
}

/** The user's audit rows but register/login ones: what revocations wrote, oldest first. */
const revocationAudits = (t: Db, userId: string): Promise<any[]> =>
  t.dataSource.query(
    `SELECT * FROM audit_events WHERE user_id = $1 AND event NOT IN ('register', 'login', 'login_failed') ORDER BY created_at`,
    [userId],
  );

/** id, revoked_at and ended_reason of every session, for "nothing changed". */
const allSessionStates = (t: Db) =>
  t.dataSource.query('SELECT id, revoked_at, ended_reason, last_used_at FROM sessions ORDER BY id');
const auditCount = async (t: Db) => Number((await t.dataSource.query('SELECT count(*) AS n FROM audit_events'))[0].n);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('session control over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  describe('POST /logout with a scope', () => {
    it("others: ends every other live session of the user, not other users', keeps the caller's; one audit row; no Clear-Site-Data", async () => {
      const user = await registerAndLogin(t);
      const others = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
      const loggedOut = await login(t, user.email, user.password);
      await logoutRequest(t, loggedOut.token).expect(200);
      const stranger = await registerAndLogin(t);

      const res = await logoutRequest(t, user.token).set('X-Request-Id', `others-${randomUUID()}`).send({ scope: 'others' });

      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ success: true, message: MESSAGES.loggedOut, data: { revokedSessions: 2 } });
      expect(res.headers['clear-site-data']).toBeUndefined();
      await meRequest(t, user.token).expect(200);
      await meRequest(t, stranger.token).expect(200);
      expect((await sessionRow(t, stranger.sessionId)).revoked_at).toBeNull();
      for (const other of others) {
        expectInvalidToken(await meRequest(t, other.token));
        expect(await sessionRow(t, other.sessionId)).toMatchObject({ ended_reason: 'logout_others', revoked_at: expect.any(Date) });
      }
      // The one already over keeps why and when it ended.
      expect((await sessionRow(t, loggedOut.sessionId)).ended_reason).toBe('logout');

      const audits = (await revocationAudits(t, user.userId)).filter((a) => a.request_id === res.headers['x-request-id']);
      expect(audits).toHaveLength(1);
      expect(audits[0]).toMatchObject({ event: 'logout', session_id: user.sessionId });
      expect(audits[0].details).toStrictEqual({ scope: 'others', revokedSessions: 2 });
    });

    it('others with no other live session: 200 with revokedSessions 0, audited with the 0', async () => {
      const user = await registerAndLogin(t);
      const res = await logoutRequest(t, user.token).send({ scope: 'others' });
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ success: true, message: MESSAGES.loggedOut, data: { revokedSessions: 0 } });
      await meRequest(t, user.token).expect(200);
      const audits = await revocationAudits(t, user.userId);
      expect(audits).toHaveLength(1);
      expect(audits[0].details).toStrictEqual({ scope: 'others', revokedSessions: 0 });
    });

    it("all: ends every session of the user, the caller's too, with Clear-Site-Data; other users untouched", async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      const stranger = await registerAndLogin(t);

      const res = await logoutRequest(t, user.token).send({ scope: 'all' });

      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ success: true, message: MESSAGES.loggedOut, data: { revokedSessions: 2 } });
      expect(res.headers['clear-site-data']).toBe('"storage"');
      for (const s of [user, other]) {
        expectInvalidToken(await meRequest(t, s.token));
        expect((await sessionRow(t, s.sessionId)).ended_reason).toBe('logout_all');
      }
      expectInvalidToken(await logoutRequest(t, user.token).send({ scope: 'all' }));
      await meRequest(t, stranger.token).expect(200);
      const audits = await revocationAudits(t, user.userId);
      expect(audits).toHaveLength(1);
      expect(audits[0]).toMatchObject({ event: 'logout', session_id: user.sessionId });
      expect(audits[0].details).toStrictEqual({ scope: 'all', revokedSessions: 2 });
    });

    it("current is the default: only the bearer's session ends (reason logout), no data", async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);

      const res = await logoutRequest(t, user.token).send({ scope: 'current' });

      expect(res.status).toBe(200);
      expect(res.text).toBe(LOGGED_OUT_BODY);
      expect(res.headers['clear-site-data']).toBe('"storage"');
      expect((await sessionRow(t, user.sessionId)).ended_reason).toBe('logout');
      expectInvalidToken(await meRequest(t, user.token));
      await meRequest(t, other.token).expect(200);
      const audits = await revocationAudits(t, user.userId);
      expect(audits).toHaveLength(1);
      expect(audits[0]).toMatchObject({ event: 'logout', session_id: user.sessionId, details: { scope: 'current' } });
    });

    it('current with a body token of the same user ends that session', async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      await logoutRequest(t, user.token).send({ scope: 'current', token: other.token }).expect(200);
      expect((await sessionRow(t, other.sessionId)).ended_reason).toBe('logout');
      expectInvalidToken(await meRequest(t, other.token));
      await meRequest(t, user.token).expect(200);
    });

    it.each([
      ['ALL', 'ALL'],
      ['an empty string', ''],
      ['a number', 1],
      ['null', null],
      ['an array', []],
      ['an array of a scope', ['all']],
      ['an object', { scope: 'all' }],
    ])('answers 400 to scope %s and ends nothing', async (_, scope) => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      const before = await allSessionStates(t);

      expectInvalidRequest(await logoutRequest(t, user.token).send({ scope }));

      expect(await allSessionStates(t)).toStrictEqual(before);
      expect(await revocationAudits(t, user.userId)).toStrictEqual([]);
      await meRequest(t, other.token).expect(200);
      await meRequest(t, user.token).expect(200);
    });

    it.each(['others', 'all'])('answers 400 to scope %s together with a body token, and ends nothing', async (scope) => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      const before = await allSessionStates(t);

      expectInvalidRequest(await logoutRequest(t, user.token).send({ scope, token: other.token }));

      expect(await allSessionStates(t)).toStrictEqual(before);
      expect(await revocationAudits(t, user.userId)).toStrictEqual([]);
    });
  });

  describe('GET /sessions', () => {
    it('pages: limit (default 50, 1 to 100) and the opaque nextCursor, absent on the last page; no row twice, none lost', async () => {
      const user = await register(t);
      const opened = [];
      for (let i = 0; i < 7; i++) opened.push(await loginFrom(t, user, `pager-${i}`));
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await t.http().get('/api/v1/auth/sessions').query({ limit: 3, ...(cursor && { cursor }) }).set(bearer(opened[0]!.token));
        expect(res.status).toBe(200);
        seen.push(...res.body.data.sessions.map((s: { id: string }) => s.id));
        cursor = res.body.data.nextCursor;
        pages++;
        if (cursor === undefined) expect(Object.keys(res.body.data)).toStrictEqual(['sessions']);
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toStrictEqual(opened.map((s) => s.sessionId).reverse());
      const all = await t.http().get('/api/v1/auth/sessions').set(bearer(opened[0]!.token)).expect(200);
      expect(all.body.data.sessions).toHaveLength(7);
      expect(all.body.data.nextCursor).toBeUndefined();
    });

    it('refuses a bad limit or cursor with 400, a cursor of the other list included', async () => {
      const user = await registerAndLogin(t);
      await loginFrom(t, user, 'a');
      await loginFrom(t, user, 'b');
      const page = await t.http().get('/api/v1/auth/sessions').query({ limit: 1 }).set(bearer(user.token)).expect(200);
      for (const query of [{ limit: 0 }, { limit: 101 }, { limit: 'x' }, { limit: 1.5 }, { cursor: 'nope' }, { cursor: page.body.data.nextCursor, state: 'ended' }]) {
        const res = await t.http().get('/api/v1/auth/sessions').query(query).set(bearer(user.token));
        expect(res.status, JSON.stringify(query)).toBe(400);
        expect(res.body.message).toBe('Solicitud inválida');
      }
    });

    it('names each device from its user agent, nulls where it does not say', async () => {
      const user = await register(t);
      const chrome = await loginFrom(t, user, 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36');
      await loginFrom(t, user, 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1');
      await loginFrom(t, user, 'curl/8.0');
      const res = await t.http().get('/api/v1/auth/sessions').set(bearer(chrome.token)).expect(200);
      expect(res.body.data.sessions.map((s: { device: object }) => s.device)).toStrictEqual([
        { browser: null, os: null, type: null },
        { browser: 'Safari', os: 'iOS', type: 'mobile' },
        { browser: 'Chrome', os: 'Linux', type: 'desktop' },
      ]);
    });

    it("lists the user's live sessions newest first, exactly these fields, current only for the bearer's", async () => {
      const user = await register(t);
      const [first, second, third] = [
        await loginFrom(t, user, 'browser-1'),
        await loginFrom(t, user, 'browser-2'),
        await loginFrom(t, user, 'browser-3'),
      ];
      const ended = await loginFrom(t, user, 'browser-ended');
      await logoutRequest(t, ended.token).expect(200);
      const stranger = await registerAndLogin(t);

      const res = await sessionsRequest(t, second.token);

      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.success).toBe(true);
      expect(res.body.message).toBe(MESSAGES.sessions);
      expect(Object.keys(res.body.data)).toStrictEqual(['sessions']);
      const listed = res.body.data.sessions as any[];
      expect(listed.map((s) => s.id)).toStrictEqual([third.sessionId, second.sessionId, first.sessionId]);
      expect(listed.map((s) => s.current)).toStrictEqual([false, true, false]);
      expect(listed.map((s) => s.userAgent)).toStrictEqual(['browser-3', 'browser-2', 'browser-1']);
      for (const s of listed) {
        expect(Object.keys(s).sort()).toStrictEqual(LIVE_KEYS);
        const row = await sessionRow(t, s.id);
        expect(s.ip).toBe(row.ip);
        expect(typeof s.ip).toBe('string');
        expect(s.createdAt).toBe(row.created_at.toISOString());
        expect(s.lastUsedAt).toBe(row.last_used_at.toISOString());
        expect(s.expiresAt).toBe(row.expires_at.toISOString());
      }
      expect(res.text).not.toContain(stranger.sessionId);
      expect(res.text).not.toContain(ended.sessionId);
      expect(res.text).not.toMatch(/hash|token|refresh|generation/i);

      // The stranger sees only theirs.
      const theirs = await sessionsRequest(t, stranger.token).expect(200);
      expect(theirs.body.data.sessions.map((s: any) => [s.id, s.current])).toStrictEqual([[stranger.sessionId, true]]);
    });

    it('?state=ended lists the ended sessions, newest ended first, with endedAt and endReason for each way to end', async () => {
      const user = await register(t);
      const main = await loginFrom(t, user);
      const [idle, expired, loggedOut, byId, othersA, othersB] = [
        await loginFrom(t, user), await loginFrom(t, user), await loginFrom(t, user),
        await loginFrom(t, user), await loginFrom(t, user), await loginFrom(t, user),
      ];
      await setSessionClock(t, idle.sessionId, 'last_used_at', '-8 days'); // idle for a day past the 7-day timeout
      await setSessionClock(t, expired.sessionId, 'expires_at', '-1 minute');
      await logoutRequest(t, loggedOut.token).expect(200);
      await endSessionRequest(t, main.token, byId.sessionId).expect(200);
      await logoutRequest(t, main.token).send({ scope: 'others' }).expect(200);
      const changed = await loginFrom(t, user);
      await t.http().post(`${API}/password`).set(bearer(main.token))
        .send({ currentPassword: user.password, newPassword: 'another-password-456' }).expect(200);
      const stranger = await registerAndLogin(t);
      await logoutRequest(t, stranger.token).expect(200);

      const res = await sessionsRequest(t, main.token, 'ended');

      expect(res.status).toBe(200);
      const listed = res.body.data.sessions as any[];
      expect(listed.map((s) => s.endReason)).toStrictEqual([
        'password_changed', 'logout_others', 'logout_others', 'revoked_by_id', 'logout', 'expired', 'idle_timeout',
      ]);
      expect(listed[0].id).toBe(changed.sessionId);
      expect(new Set(listed.slice(1, 3).map((s) => s.id))).toStrictEqual(new Set([othersA.sessionId, othersB.sessionId]));
      expect(listed.slice(3).map((s) => s.id)).toStrictEqual([byId.sessionId, loggedOut.sessionId, expired.sessionId, idle.sessionId]);
      const endedAts = listed.map((s) => Date.parse(s.endedAt));
      expect(endedAts).toStrictEqual([...endedAts].sort((a, b) => b - a));
      for (const s of listed) {
        expect(Object.keys(s).sort()).toStrictEqual(ENDED_KEYS);
        expect(s.current).toBe(false);
        const row = await sessionRow(t, s.id);
        const endedAt =
          s.endReason === 'expired' ? row.expires_at
          : s.endReason === 'idle_timeout' ? new Date(row.last_used_at.getTime() + 604_800_000 + 60_000)
          : row.revoked_at;
        expect(s.endedAt).toBe(endedAt.toISOString());
      }
      expect(res.text).not.toContain(stranger.sessionId);
      expect(res.text).not.toContain(main.sessionId);
      expect(res.text).not.toMatch(/hash|token|refresh|generation/i);

      // And the live list now holds the caller's session alone.
      const live = await sessionsRequest(t, main.token).expect(200);
      expect(live.body.data.sessions.map((s: any) => s.id)).toStrictEqual([main.sessionId]);
    });

    it('answers 400 to an unknown state, 401 without a bearer or with an ended one', async () => {
      const user = await registerAndLogin(t);
      for (const state of ['bogus', 'ENDED', '']) expectInvalidRequest(await sessionsRequest(t, user.token, state));
      expectInvalidToken(await sessionsRequest(t));
      expectInvalidToken(await sessionsRequest(t, undefined, 'ended'));
      await logoutRequest(t, user.token).expect(200);
      expectInvalidToken(await sessionsRequest(t, user.token));
    });
  });

  describe('DELETE /sessions/:id', () => {
    it('ends one of the caller\'s own live sessions: 200, its token refused, revoked_by_id, one session_revoked audit row', async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);

      const res = await endSessionRequest(t, user.token, other.sessionId).set('X-Request-Id', 'delete-by-id-1');

      expect(res.status).toBe(200);
      expect(res.text).toBe(LOGGED_OUT_BODY);
      expectInvalidToken(await meRequest(t, other.token));
      await meRequest(t, user.token).expect(200);
      expect(await sessionRow(t, other.sessionId)).toMatchObject({ ended_reason: 'revoked_by_id', revoked_at: expect.any(Date) });
      const audits = await revocationAudits(t, user.userId);
      expect(audits).toHaveLength(1);
      expect(audits[0]).toMatchObject({ event: 'session_revoked', session_id: other.sessionId, request_id: 'delete-by-id-1' });
      expect(audits[0].details).toStrictEqual({ reason: 'revoked_by_id', revokedSessions: 1 });

      // Ended now: a second DELETE is the 404 of any id that is not a live session of the caller's.
      const again = await endSessionRequest(t, user.token, other.sessionId);
      expect(again.status).toBe(404);
      expect(again.text).toBe(NOT_FOUND_BODY);
      expect(await revocationAudits(t, user.userId)).toHaveLength(1);
    });

    it("answers the same 404 for another user's session, an ended one, an unknown id and malformed ids; nothing changes", async () => {
      const user = await registerAndLogin(t);
      const stranger = await registerAndLogin(t);
      const ended = await login(t, user.email, user.password);
      await logoutRequest(t, ended.token).expect(200);
      const unknownRoute = await t.http().get(`${API}/no-such-route`);
      expect(unknownRoute.status).toBe(404);
      const before = await allSessionStates(t);
      const audits = await auditCount(t);

      for (const id of [
        stranger.sessionId,
        stranger.sessionId.toUpperCase(),
        ended.sessionId,
        randomUUID(),
        'abc',
        "1' OR '1'='1",
        `${stranger.sessionId}x`,
        ' ',
      ]) {
        const res = await endSessionRequest(t, user.token, id);
        expect(res.status, id).toBe(404);
        expect(res.text, id).toBe(NOT_FOUND_BODY);
        expect(res.text).toBe(unknownRoute.text);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.headers['www-authenticate']).toBeUndefined();
      }

      expect(await allSessionStates(t)).toStrictEqual(before);
      expect(await auditCount(t)).toBe(audits);
      await meRequest(t, stranger.token).expect(200);
      expectInvalidToken(await t.http().delete(`${API}/sessions/${stranger.sessionId}`));
    });
  });

  describe('timeouts', () => {
    it('refuses a session idle longer than SESSION_IDLE_TTL (7 days) though its JWT is valid, on every route', async () => {
      const user = await registerAndLogin(t);
      await setSessionClock(t, user.sessionId, 'last_used_at', '-6 days');
      await meRequest(t, user.token).expect(200);
      // That request records the use off its path; let it land before moving the clock again.
      await vi.waitFor(async () => expect(Date.now() - (await sessionRow(t, user.sessionId)).last_used_at.getTime()).toBeLessThan(60_000));
      await setSessionClock(t, user.sessionId, 'last_used_at', '-8 days');
      expectInvalidToken(await meRequest(t, user.token));
      expectInvalidToken(await sessionsRequest(t, user.token));
      expectInvalidToken(await logoutRequest(t, user.token));
      // Over is over: no request brings it back.
      expect((await sessionRow(t, user.sessionId)).revoked_at).toBeNull();
      expectInvalidToken(await meRequest(t, user.token));
    });

    it('refuses a session past its absolute lifetime (expires_at) though its JWT is valid', async () => {
      const user = await registerAndLogin(t);
      await setSessionClock(t, user.sessionId, 'expires_at', '-1 minute');
      expectInvalidToken(await meRequest(t, user.token));
      expectInvalidToken(await logoutRequest(t, user.token).send({ scope: 'all' }));
    });

    it('writes last_used_at at most once a minute, off the request path', async () => {
      const user = await registerAndLogin(t);
      const lastUsed = async () => (await sessionRow(t, user.sessionId)).last_used_at.getTime();
      const fresh = await lastUsed();
      for (let i = 0; i < 5; i++) await meRequest(t, user.token).expect(200);
      await sleep(200);
      expect(await lastUsed()).toBe(fresh);

      // Written 50 s ago: still not written again.
      await setSessionClock(t, user.sessionId, 'last_used_at', '-50 seconds');
      const fiftySecondsAgo = await lastUsed();
      await meRequest(t, user.token).expect(200);
      await sleep(200);
      expect(await lastUsed()).toBe(fiftySecondsAgo);

      // Written 2 minutes ago: the next request writes it, once.
      await setSessionClock(t, user.sessionId, 'last_used_at', '-2 minutes');
      const twoMinutesAgo = await lastUsed();
      await meRequest(t, user.token).expect(200);
      let touched = twoMinutesAgo;
      for (let i = 0; i < 50 && touched === twoMinutesAgo; i++) {
        await sleep(50);
        touched = await lastUsed();
      }
      expect(touched - twoMinutesAgo).toBeGreaterThan(110_000);
      for (let i = 0; i < 5; i++) await meRequest(t, user.token).expect(200);
      await sleep(200);
      expect(await lastUsed()).toBe(touched);
    });
  });
});

describe('timeouts set by the environment', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ SESSION_IDLE_TTL: '120', SESSION_MAX_TTL: '600' });
  });
  afterAll(() => t.close());

  // last_used_at is written at most once a minute, so the timeout counts from up to a minute
  // after it: a minute late at worst, never early.
  it('SESSION_IDLE_TTL: a session last written 190 s ago, of 120 (+60), is refused; 170 s ago goes on', async () => {
    const user = await registerAndLogin(t);
    const other = await login(t, user.email, user.password);
    await setSessionClock(t, user.sessionId, 'last_used_at', '-170 seconds');
    await setSessionClock(t, other.sessionId, 'last_used_at', '-190 seconds');
    await meRequest(t, user.token).expect(200);
    expectInvalidToken(await meRequest(t, other.token));
    const ended = await sessionsRequest(t, user.token, 'ended').expect(200);
    expect(ended.body.data.sessions.map((s: any) => [s.id, s.endReason])).toStrictEqual([[other.sessionId, 'idle_timeout']]);
  });

  it('SESSION_MAX_TTL: the session ends SESSION_MAX_TTL after login, and the access token not later', async () => {
    const before = Date.now();
    const user = await registerAndLogin(t);
    const row = await sessionRow(t, user.sessionId);
    expect(row.expires_at.getTime()).toBeGreaterThan(before + 600_000 - 2000);
    expect(row.expires_at.getTime()).toBeLessThanOrEqual(Date.now() + 600_000);
    // JWT_ACCESS_TTL is 900: the token is cut to the session's 600.
    expect(decodePart(user.token, 1).exp * 1000).toBeLessThanOrEqual(row.expires_at.getTime());
  });

  it('an authenticated request keeps the session from idling out, even within the minute its write is skipped', async () => {
    const idle60 = await startApp({ SESSION_IDLE_TTL: '60' });
    try {
      const user = await registerAndLogin(idle60);
      // Last written 58 s ago (say, at login): this request is not written, since under a minute.
      await setSessionClock(idle60, user.sessionId, 'last_used_at', '-58 seconds');
      await meRequest(idle60, user.token).expect(200);
      await sleep(3000);
      // 3 s after an authenticated request, the session has not been idle for SESSION_IDLE_TTL (60 s).
      const res = await meRequest(idle60, user.token);
      expect(res.status, 'session idled out 3 s after a request, with SESSION_IDLE_TTL=60').toBe(200);
    } finally {
      await idle60.close();
    }
  });
});
