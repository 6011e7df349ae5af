import { enrolTotp } from '../support/totp.js';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/admin/admin.server.js';
import { startApp, type TestApp } from '../support/app.js';
import { basic, openEventStream, type EventStreamReader, type WireEvent } from '../support/event-stream-reader.js';
import { expectInvalidRequest } from '../support/expectations.js';
import { listen } from '../support/listen.js';
import { API, bearer, endSessionRequest, logoutRequest, passwordRequest, refreshRequest } from '../support/requests.js';
import { sessionRow, setSessionClock } from '../support/rows.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { decodePart } from '../support/tokens.js';
import { login, register, registerAndLogin, registerAndLoginWithRefresh } from '../support/users.js';

// Session events: every end of a session, by any path, writes exactly one `session.ended` row in
// session_events, read back from the table, the feed (GET /api/v1/events) and the stream
// (GET /api/v1/events/stream, Server-Sent Events parsed by hand), as the introspection clients.

const CLIENT = { id: 'events-reader', secret: 'events-secret-0123456789-abcdefghij' };
const SECOND_CLIENT = { id: 'second-reader', secret: 'second-secret-9876543210-zyxwvutsrq' };
const AUTH = basic(CLIENT.id, CLIENT.secret);
const ADMIN_TOKEN = 'operator-token-0123456789-abcdefghijkl';
const INVALID_CLIENT_BODY = JSON.stringify({ success: false, message: 'Credenciales de cliente inválidas' });
const FEED_MESSAGE = 'Eventos de sesión';
const RESET = { subject: 'Restablecer la contraseña' };

/** What every issued access token's session end must be denied until: the token's exp, in ms. */
const expMs = (token: string) => (decodePart(token, 1).exp as number) * 1000;

interface Ended {
  sessionId: string;
  userId: string;
}

describe('session events', () => {
  let t: TestApp;
  let smtp: SmtpSink;
  let base: string;
  let admin: () => ReturnType<typeof request>;
  const asAdmin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

  /** GET /events as the client `authorization` names (null: no Authorization header). */
  const feed = (query: Record<string, string | number> = {}, authorization: string | null = AUTH) => {
    const req = t.http().get('/api/v1/events').query(query);
    return authorization === null ? req : req.set('Authorization', authorization);
  };
  const eventRows = (sessionIds: string[]): Promise<any[]> =>
    t.dataSource.query(
      `SELECT id::text, session_id, user_id, reason, version, deny_until, created_at FROM session_events WHERE session_id = ANY($1::uuid[]) ORDER BY session_events.id`,
      [sessionIds],
    );
  const allIds = async (after = '0'): Promise<string[]> =>
    (await t.dataSource.query(`SELECT id::text FROM session_events WHERE id > $1 ORDER BY session_events.id`, [after])).map((r: { id: string }) => r.id);
  const lastId = async (): Promise<string> => (await t.dataSource.query(`SELECT coalesce(max(id), 0)::text AS id FROM session_events`))[0].id;
  /**
   * Moves the id sequence so that the next ids go from the next power of ten minus `before`
   * upwards (999995, 999996, …, 1000000, …): ids are numbers, never text, whatever they count.
   * The nearest power that leaves room, so that ids on a database kept between runs grow by one
   * digit a call, not two (bigint ends at 19 digits).
   */
  const nextIdsCrossAPowerOfTen = async (before = 5) => {
    const last = await lastId();
    let power = 10n ** BigInt(last.length);
    if (power - BigInt(before) - 1n <= BigInt(last)) power *= 10n;
    await t.dataSource.query(`SELECT setval(pg_get_serial_sequence('session_events', 'id'), $1)`, [(power - BigInt(before) - 1n).toString()]);
  };
  /** The feed's event with this id, or undefined. */
  const feedEvent = async (id: string): Promise<WireEvent | undefined> => {
    const res = await feed({ after: (BigInt(id) - 1n).toString(), limit: 1 }).expect(200);
    return res.body.data.events.find((e: WireEvent) => e.id === id);
  };

  /**
   * Exactly one event for the session, as the contract gives it, in the table and in the feed:
   * the reason, the version the session has after its end, and denyUntil the exp of `lastToken`,
   * the last access token issued for it.
   */
  async function expectOneEvent(session: Ended, reason: string, version: number, lastToken: string, { rowGone = false } = {}) {
    const rows = await eventRows([session.sessionId]);
    expect(rows, `events of session ${session.sessionId}`).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({ session_id: session.sessionId, user_id: session.userId, reason, version });
    expect(row.deny_until.getTime()).toBe(expMs(lastToken));
    if (!rowGone) {
      // Written by the statement that ended it: the same transaction's clock.
      const ses = await sessionRow(t, session.sessionId);
      expect(ses.ended_reason).toBe(reason);
      expect(ses.version).toBe(version);
      expect(row.created_at.getTime()).toBe(ses.revoked_at.getTime());
    }
    expect(await feedEvent(row.id)).toStrictEqual({
      id: row.id,
      type: 'session.ended',
      timestamp: row.created_at.toISOString(),
      data: { sessionId: session.sessionId, userId: session.userId, reason, version, denyUntil: new Date(expMs(lastToken)).toISOString() },
    });
    return row;
  }
  const expectNoEvent = async (...sessions: Ended[]) => expect(await eventRows(sessions.map((s) => s.sessionId))).toStrictEqual([]);

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startApp({
      INTROSPECTION_CLIENTS: `${CLIENT.id}:${CLIENT.secret},${SECOND_CLIENT.id}:${SECOND_CLIENT.secret}`,
      ADMIN_PORT: '0',
      ADMIN_TOKENS: ADMIN_TOKEN,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Auth <auth@example.com>',
      PASSWORD_RESET_URL: 'https://app.example.com/reset',
    });
    base = await listen(t);
    const adminBase = `http://127.0.0.1:${t.app.get(AdminServer).port}`;
    admin = () => request(adminBase);
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  describe('every end of a session writes exactly one event, in the same statement', () => {
    it('logout: the bearer\'s session (logout, version 2, denyUntil its token\'s exp); the user\'s other session none', async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      await logoutRequest(t, user.token).expect(200);
      await expectOneEvent(user, 'logout', 2, user.token);
      await expectNoEvent({ ...other, userId: user.userId });
    });

    it("logout with a body token: that token's session, not the bearer's", async () => {
      const user = await registerAndLogin(t);
      const target = await login(t, user.email, user.password);
      await logoutRequest(t, user.token).send({ token: target.token }).expect(200);
      await expectOneEvent({ ...target, userId: user.userId }, 'logout', 2, target.token);
      await expectNoEvent(user);
    });

    it("scope others: one event per other live session (logout_others); none for the caller's, a second none for an ended one, none for another user's", async () => {
      const user = await registerAndLogin(t);
      const others = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
      const before = await login(t, user.email, user.password);
      await logoutRequest(t, before.token).expect(200);
      const stranger = await registerAndLogin(t);

      const res = await logoutRequest(t, user.token).send({ scope: 'others' }).expect(200);
      expect(res.body.data).toStrictEqual({ revokedSessions: 2 });
      for (const other of others) await expectOneEvent({ ...other, userId: user.userId }, 'logout_others', 2, other.token);
      await expectOneEvent({ ...before, userId: user.userId }, 'logout', 2, before.token);
      await expectNoEvent(user, stranger);
    });

    it("scope all: every live session of the user, the caller's too (logout_all); another user's none", async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      const stranger = await registerAndLogin(t);
      await logoutRequest(t, user.token).send({ scope: 'all' }).expect(200);
      await expectOneEvent(user, 'logout_all', 2, user.token);
      await expectOneEvent({ ...other, userId: user.userId }, 'logout_all', 2, other.token);
      await expectNoEvent(stranger);
    });

    it('DELETE /sessions/:id: that session (revoked_by_id); the caller\'s none; a second DELETE 404 and no second event', async () => {
      const user = await registerAndLogin(t);
      const target = await login(t, user.email, user.password);
      await endSessionRequest(t, user.token, target.sessionId).expect(200);
      await endSessionRequest(t, user.token, target.sessionId).expect(404);
      await expectOneEvent({ ...target, userId: user.userId }, 'revoked_by_id', 2, target.token);
      await expectNoEvent(user);
    });

    it('password change: every other session (password_changed); the current one none', async () => {
      const user = await registerAndLogin(t);
      const others = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
      const res = await passwordRequest(t, user.token, { currentPassword: user.password, newPassword: 'a-changed-password-1' }).expect(200);
      expect(res.body.data).toStrictEqual({ revokedSessions: 2 });
      for (const other of others) await expectOneEvent({ ...other, userId: user.userId }, 'password_changed', 2, other.token);
      await expectNoEvent(user);
    });

    it('password reset from the mailed link: every session of the user (password_reset); another user\'s none', async () => {
      const user = await register(t);
      const sessions = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
      const stranger = await registerAndLogin(t);
      await t.http().post(`${API}/password/forgot`).send({ email: user.email }).expect(202);
      const token = new URL((await smtp.next(user.email, RESET)).link!).searchParams.get('token');
      const res = await t.http().post(`${API}/password/reset`).send({ token, newPassword: 'a-reset-password-1' }).expect(200);
      expect(res.body.data).toStrictEqual({ revokedSessions: 2 });
      for (const session of sessions) await expectOneEvent({ ...session, userId: user.userId }, 'password_reset', 2, session.token);
      await expectNoEvent(stranger);
    });

    it('refresh reuse: the whole session (refresh_reuse), its version counting the rotation, denyUntil the exp of the refreshed token', async () => {
      const user = await registerAndLoginWithRefresh(t);
      await sleep(1100); // so that the refreshed token's exp differs from the login's
      const rotated = await refreshRequest(t, user.refreshToken).expect(200);
      const next = rotated.body.data.accessToken as string;
      expect(expMs(next)).toBeGreaterThan(expMs(user.token));
      await setSessionClock(t, user.sessionId, 'refreshed_at', -3600); // past the grace period
      await refreshRequest(t, user.refreshToken).expect(401);
      await refreshRequest(t, user.refreshToken).expect(401);
      // login 1, refresh 2, end 3.
      await expectOneEvent(user, 'refresh_reuse', 3, next);
    });

    it("account deletion: every session (account_deleted); the events stay when the user's rows are gone", async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      await t.http().delete(`${API}/account`).set(bearer(user.token)).send({ password: user.password }).expect(200);
      expect(await sessionRow(t, user.sessionId)).toBeUndefined();
      await expectOneEvent(user, 'account_deleted', 2, user.token, { rowGone: true });
      await expectOneEvent({ ...other, userId: user.userId }, 'account_deleted', 2, other.token, { rowGone: true });
    });

    it("operator DELETE /admin/v1/sessions/:id: that session (admin_revoked); the user's other none", async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      await admin().delete(`/admin/v1/sessions/${user.sessionId}`).set(asAdmin).expect(200);
      await admin().delete(`/admin/v1/sessions/${user.sessionId}`).set(asAdmin).expect(404);
      await expectOneEvent(user, 'admin_revoked', 2, user.token);
      await expectNoEvent({ ...other, userId: user.userId });
    });

    it("operator DELETE /admin/v1/users/:id/sessions: each live session (admin_revoked), no second event for an ended one; another user's none", async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      const before = await login(t, user.email, user.password);
      await logoutRequest(t, before.token).expect(200);
      const stranger = await registerAndLogin(t);
      const res = await admin().delete(`/admin/v1/users/${user.userId}/sessions`).set(asAdmin).expect(200);
      expect(res.body.data).toStrictEqual({ revokedSessions: 2 });
      await expectOneEvent(user, 'admin_revoked', 2, user.token);
      await expectOneEvent({ ...other, userId: user.userId }, 'admin_revoked', 2, other.token);
      await expectOneEvent({ ...before, userId: user.userId }, 'logout', 2, before.token);
      await expectNoEvent(stranger);
    });

    it('operator lock: each live session (account_locked); a lock of a locked user none again', async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      const stranger = await registerAndLogin(t);
      const res = await admin().post(`/admin/v1/users/${user.userId}/lock`).set(asAdmin).expect(200);
      expect(res.body.data).toStrictEqual({ revokedSessions: 2 });
      const again = await admin().post(`/admin/v1/users/${user.userId}/lock`).set(asAdmin).expect(200);
      expect(again.body.data).toStrictEqual({ revokedSessions: 0 });
      await expectOneEvent(user, 'account_locked', 2, user.token);
      await expectOneEvent({ ...other, userId: user.userId }, 'account_locked', 2, other.token);
      await expectNoEvent(stranger);
    });

    it("TOTP confirmed: every other session (mfa_enabled); the confirming one none, and it goes on", async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      await enrolTotp(t, user.token);
      await expectOneEvent({ ...other, userId: user.userId }, 'mfa_enabled', 2, other.token);
      await expectNoEvent(user);
      await t.http().get('/api/v1/auth/me').set('Authorization', `Bearer ${user.token}`).expect(200);
    });

    it('50 simultaneous logouts of one token: one 200, exactly one event', async () => {
      const user = await registerAndLogin(t);
      const answers = await Promise.all(Array.from({ length: 50 }, () => logoutRequest(t, user.token)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
      expect(answers.filter((a) => a.status === 401)).toHaveLength(49);
      await expectOneEvent(user, 'logout', 2, user.token);
    });

    it('a refresh raises the version by one: ended after two refreshes, version 4 and denyUntil the exp of the last token', async () => {
      const user = await registerAndLoginWithRefresh(t);
      expect((await sessionRow(t, user.sessionId)).version).toBe(1);
      const first = await refreshRequest(t, user.refreshToken).expect(200);
      expect((await sessionRow(t, user.sessionId)).version).toBe(2);
      await sleep(1100);
      const second = await refreshRequest(t, first.body.data.refreshToken).expect(200);
      expect((await sessionRow(t, user.sessionId)).version).toBe(3);
      const last = second.body.data.accessToken as string;
      expect(expMs(last)).toBeGreaterThan(expMs(user.token));
      // Logged out with the login's token, still alive: the deny must outlast the newest token.
      await logoutRequest(t, user.token).expect(200);
      await expectOneEvent(user, 'logout', 4, last);
    });

    it('a retried refresh within the grace period is a refresh too: its token sets denyUntil, and the version counts it', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const rotated = await refreshRequest(t, user.refreshToken).expect(200);
      await sleep(1100);
      const retried = await refreshRequest(t, user.refreshToken).expect(200);
      expect(retried.body.data.refreshToken).toBe(rotated.body.data.refreshToken);
      const last = retried.body.data.accessToken as string;
      expect(expMs(last)).toBeGreaterThan(expMs(rotated.body.data.accessToken));
      await logoutRequest(t, rotated.body.data.accessToken).expect(200);
      // login 1, refresh 2, retry 3, end 4.
      await expectOneEvent(user, 'logout', 4, last);
    });

    it('a session that stays live writes nothing: login, refreshes, requests', async () => {
      const user = await registerAndLoginWithRefresh(t);
      await refreshRequest(t, user.refreshToken).expect(200);
      await t.http().get(`${API}/me`).set(bearer(user.token)).expect(200);
      await expectNoEvent(user);
    });
  });

  describe('the feed: GET /api/v1/events', () => {
    it('with no event kept and no after: an empty page, cursor null', async () => {
      // As after the retention job purged everything; the events of the cases above are checked already.
      await t.dataSource.query('DELETE FROM session_events');
      const res = await feed().expect(200);
      expect(res.body).toStrictEqual({ success: true, message: FEED_MESSAGE, data: { events: [], cursor: null } });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('pages with limit and after: ascending, no gap, no duplicate; cursor the last id of each page, then the after given', async () => {
      // From just before this case's events: a shared database may hold many earlier ones.
      const from = await lastId();
      const user = await registerAndLogin(t);
      for (let i = 0; i < 6; i++) await login(t, user.email, user.password);
      const others = await Promise.all(Array.from({ length: 3 }, () => registerAndLogin(t)));
      await logoutRequest(t, others[0]!.token).expect(200);
      await nextIdsCrossAPowerOfTen(4);
      await logoutRequest(t, user.token).send({ scope: 'all' }).expect(200);
      for (const other of others.slice(1)) await logoutRequest(t, other.token).expect(200);

      const seen: string[] = [];
      let after = from;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThan(100);
        const res = await feed({ after, limit: 3 }).expect(200);
        const { events, cursor } = res.body.data;
        expect(events.length).toBeLessThanOrEqual(3);
        if (events.length === 0) {
          expect(cursor).toBe(after);
          break;
        }
        expect(cursor).toBe(events.at(-1).id);
        for (const event of events) {
          expect(event.id).toMatch(/^[1-9]\d*$/);
          expect(BigInt(event.id)).toBeGreaterThan(BigInt(seen.at(-1) ?? after));
          seen.push(event.id);
        }
        after = cursor;
      }
      expect(seen).toStrictEqual(await allIds(from));
      expect(seen.length).toBeGreaterThanOrEqual(10);
    });

    it('limit: 100 by default, up to 1000', async () => {
      // The feed only reads the table: events written straight into it stand for 1100 ends.
      await t.dataSource.query(
        `INSERT INTO session_events (session_id, user_id, reason, version, deny_until)
         SELECT gen_random_uuid(), gen_random_uuid(), 'logout', 2, now() + interval '15 minutes' FROM generate_series(1, 1100)`,
      );
      const first = await feed().expect(200);
      expect(first.body.data.events).toHaveLength(100);
      const ids = await allIds();
      expect(first.body.data.events.map((e: WireEvent) => e.id)).toStrictEqual(ids.slice(0, 100));
      const big = await feed({ limit: 1000, after: first.body.data.cursor }).expect(200);
      expect(big.body.data.events.map((e: WireEvent) => e.id)).toStrictEqual(ids.slice(100, 1100));
      expect(big.body.data.cursor).toBe(ids[1099]);
      const one = await feed({ limit: 1, after: ids[4]! }).expect(200);
      expect(one.body.data).toStrictEqual({ events: [expect.objectContaining({ id: ids[5] })], cursor: ids[5] });
    });

    it('an after past the newest event: an empty page whose cursor is that after', async () => {
      const res = await feed({ after: '999999999999999999' }).expect(200);
      expect(res.body.data).toStrictEqual({ events: [], cursor: '999999999999999999' });
      const last = await lastId();
      expect((await feed({ after: last }).expect(200)).body.data).toStrictEqual({ events: [], cursor: last });
    });

    it('answers only the introspection clients: none, a wrong secret, an unknown id, Bearer, malformed Basic are the same 401', async () => {
      const user = await registerAndLogin(t);
      const refused: Array<string | null> = [
        null,
        basic(CLIENT.id, 'not-the-secret'),
        basic(CLIENT.id, SECOND_CLIENT.secret),
        basic('unknown-client', CLIENT.secret),
        `Bearer ${user.token}`,
        `Bearer ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
        'Basic !!!not-base64!!!',
        'Basic',
        'Basic ',
        `Basic ${Buffer.from(CLIENT.id).toString('base64')}`,
        `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')} extra`,
        `${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
      ];
      for (const authorization of refused) {
        const res = await feed({}, authorization);
        expect(res.status, String(authorization)).toBe(401);
        expect(res.text, String(authorization)).toBe(INVALID_CLIENT_BODY);
        expect(res.headers['www-authenticate']).toBe('Basic realm="auth-backend"');
        expect(res.headers['content-type']).toMatch(/^application\/json/);
      }
      await feed({ limit: 1 }, basic(SECOND_CLIENT.id, SECOND_CLIENT.secret)).expect(200);
      await feed({ limit: 1 }, `basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`).expect(200);
    });

    it('refuses an after that is not an event id, or a limit outside 1..1000, with 400', async () => {
      const bad: Array<Record<string, string>> = [
        { after: '-1' },
        { after: 'abc' },
        { after: '1.5' },
        { after: '01' },
        { after: '1e3' },
        { after: '' },
        { after: '9999999999999999999' },
        { limit: '0' },
        { limit: '1001' },
        { limit: '-1' },
        { limit: '1.5' },
        { limit: 'abc' },
        { limit: '' },
      ];
      for (const query of bad) {
        const res = await feed(query);
        expect(res.status, JSON.stringify(query)).toBe(400);
        expectInvalidRequest(res);
      }
      const twice = await t.http().get('/api/v1/events?after=1&after=2').set('Authorization', AUTH);
      expect(twice.status).toBe(400);
      // Credentials come first: a stranger learns nothing about the query either.
      expect((await feed({ limit: '0' }, null)).status).toBe(401);
    });
  });

  describe('the stream: GET /api/v1/events/stream', () => {
    let stream: EventStreamReader | undefined;
    const open = async (lastEventId?: string) => (stream = await openEventStream(base, { authorization: AUTH, lastEventId }));
    const ofSession = (reader: EventStreamReader, sessionId: string) => () => reader.events().find((e) => e.data.sessionId === sessionId);
    afterEach(() => stream?.close());

    it('is an event stream that starts with retry: 1000', async () => {
      const reader = await open(await lastId());
      expect(reader.status).toBe(200);
      expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(reader.headers['cache-control']).toBe('no-store');
      await reader.waitFor(() => reader.heartbeats()[0]);
      expect(reader.text().startsWith('retry: 1000\n\n')).toBe(true);
      expect(reader.retries).toStrictEqual([1000]);
    });

    it('a logout arrives as session.ended, the feed\'s event, well under a second after its 200', async () => {
      const reader = await open(await lastId());
      await reader.waitFor(() => reader.heartbeats()[0]);
      const delays: number[] = [];
      for (let i = 0; i < 5; i++) {
        const user = await registerAndLogin(t);
        await logoutRequest(t, user.token).expect(200);
        const answered = performance.now();
        const event = await reader.waitFor(ofSession(reader, user.sessionId), 2000);
        delays.push(event.at - answered);
        const { sseId, at: _at, ...wire } = event;
        expect(sseId).toBe(event.id);
        expect(wire).toStrictEqual(await feedEvent(event.id));
        expect(wire.data).toStrictEqual({ sessionId: user.sessionId, userId: user.userId, reason: 'logout', version: 2, denyUntil: new Date(expMs(user.token)).toISOString() });
      }
      expect(Math.max(...delays)).toBeLessThan(500);
    });

    it('simultaneous ends arrive each once, in id order', async () => {
      const users = await Promise.all(Array.from({ length: 12 }, () => registerAndLogin(t)));
      await nextIdsCrossAPowerOfTen(6);
      const from = await lastId();
      const reader = await open(from);
      await Promise.all(users.map((user) => logoutRequest(t, user.token).expect(200)));
      const expected = await allIds(from);
      expect(expected).toHaveLength(12);
      await reader.waitFor(() => reader.events().length >= 12);
      await sleep(300);
      expect(reader.events().map((e) => e.id)).toStrictEqual(expected);
    });

    it('heartbeats at least every 500 ms while nothing happens, each { time, lagMs }', async () => {
      const reader = await open(await lastId());
      await sleep(2500);
      const beats = reader.heartbeats();
      expect(beats.length).toBeGreaterThanOrEqual(5);
      const gaps = beats.slice(1).map((beat, i) => beat.at - beats[i]!.at);
      expect(Math.max(...gaps)).toBeLessThan(500);
      for (const beat of beats) {
        expect(Object.keys(JSON.parse(beat.data)).sort()).toStrictEqual(['lagMs', 'time']);
        expect(new Date(beat.time).toISOString()).toBe(beat.time);
        expect(Math.abs(Date.parse(beat.time) - Date.now())).toBeLessThan(10_000);
        expect(beat.lagMs).toBeGreaterThanOrEqual(0);
        expect(beat.id).toBeUndefined();
      }
      expect(reader.events()).toStrictEqual([]);
    });

    it('Last-Event-ID: exactly the events after it, in order, then the live ones, none twice', async () => {
      const users = await Promise.all(Array.from({ length: 5 }, () => registerAndLogin(t)));
      await nextIdsCrossAPowerOfTen(3);
      for (const user of users) await logoutRequest(t, user.token).expect(200);
      const [resumeAfter] = (await eventRows([users[0]!.sessionId])).map((r) => r.id as string);
      const kept = await allIds(resumeAfter);
      expect(kept.length).toBeGreaterThanOrEqual(3);

      const reader = await open(resumeAfter);
      await reader.waitFor(() => reader.events().length >= kept.length);
      const live = await registerAndLogin(t);
      await logoutRequest(t, live.token).expect(200);
      await reader.waitFor(ofSession(reader, live.sessionId), 2000);
      await sleep(300);
      expect(reader.events().map((e) => e.id)).toStrictEqual(await allIds(resumeAfter));
      expect(reader.events().map((e) => e.sseId)).toStrictEqual(reader.events().map((e) => e.id));
    });

    it('without Last-Event-ID: first only the events whose denyUntil is ahead, then the live ones', async () => {
      const gone = await registerAndLogin(t);
      const ahead = await registerAndLogin(t);
      await logoutRequest(t, gone.token).expect(200);
      await logoutRequest(t, ahead.token).expect(200);
      // Every token of every other ended session has expired: only `ahead` may still be denied.
      await t.dataSource.query(`UPDATE session_events SET deny_until = now() - interval '1 minute' WHERE session_id <> $1`, [ahead.sessionId]);
      const [aheadEvent] = await eventRows([ahead.sessionId]);

      const reader = await open();
      await reader.waitFor(() => reader.heartbeats()[0]);
      await sleep(300);
      expect(reader.events().map((e) => e.id)).toStrictEqual([aheadEvent.id]);

      const live = await registerAndLogin(t);
      await logoutRequest(t, live.token).expect(200);
      await reader.waitFor(ofSession(reader, live.sessionId), 2000);
      expect(reader.events().map((e) => e.data.sessionId)).toStrictEqual([ahead.sessionId, live.sessionId]);
    });

    it('answers only the introspection clients: the 401 of the feed, and no stream', async () => {
      const user = await registerAndLogin(t);
      for (const authorization of [undefined, basic(CLIENT.id, 'wrong'), basic('unknown', CLIENT.secret), `Bearer ${user.token}`, 'Basic %%%']) {
        const reader = (stream = await openEventStream(base, { authorization }));
        await reader.ended;
        expect(reader.status, String(authorization)).toBe(401);
        expect(reader.text()).toBe(INVALID_CLIENT_BODY);
        expect(reader.headers['www-authenticate']).toBe('Basic realm="auth-backend"');
        expect(reader.headers['content-type']).toMatch(/^application\/json/);
      }
    });

    it('refuses a Last-Event-ID that is not an event id with 400', async () => {
      for (const lastEventId of ['abc', '-1', '1.5', '01', '', '9999999999999999999']) {
        const reader = (stream = await openEventStream(base, { authorization: AUTH, lastEventId }));
        await reader.ended;
        expect(reader.status, JSON.stringify(lastEventId)).toBe(400);
        const body = JSON.parse(reader.text());
        expect(body).toMatchObject({ success: false, message: 'Solicitud inválida' });
        expect(body.errors.length).toBeGreaterThan(0);
      }
    });
  });
});

describe('session events: a server that shuts down', () => {
  it('ends its open streams: the reader sees the end', async () => {
    const t = await startApp({ INTROSPECTION_CLIENTS: `${CLIENT.id}:${CLIENT.secret}` });
    const reader = await openEventStream(await listen(t), { authorization: AUTH });
    await reader.waitFor(() => reader.heartbeats()[0]);
    const closing = performance.now();
    await t.close();
    const ended = await Promise.race([reader.ended, sleep(5000).then(() => undefined)]);
    expect(ended, 'the stream ended').toBeDefined();
    expect(ended! - closing).toBeLessThan(5000);
  });
});
