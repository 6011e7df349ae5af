import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/admin/admin.server.js';
import { newAccountToken } from '../../src/accounts/account-token.js';
import { AccountTokensRepository } from '../../src/accounts/account-tokens.repository.js';
import { SessionsRepository } from '../../src/sessions/sessions.repository.js';
import { SessionsService } from '../../src/sessions/sessions.service.js';
import { startApp, type TestApp } from '../support/app.js';
import { expectInvalidToken } from '../support/expectations.js';
import { holdNextCall } from '../support/hold.js';
import { BAD_CREDENTIALS_BODY, envelope } from '../support/messages.js';
import { API, bearer, loginRequest, logoutRequest, meRequest, passwordRequest, refreshRequest } from '../support/requests.js';
import { lacks } from '../support/requirements.js';
import { auditRows, sessionRows } from '../support/rows.js';
import { loginWithRefresh, register } from '../support/users.js';

// A login checks the password, then opens its session; an act that ends every session of the
// user (a lock, a reset, a password change, a deletion, an operator's or the user's "end all")
// can commit in between. The login is held there on purpose, the act runs to its answer, then the
// login goes on: it must open nothing, whatever the act, and say so as a login started after the
// act would. The other order (the login commits first) must see its session ended and counted.

const ADMIN_TOKEN = 'operator-token-0123456789-abcdefghijkl';
const LOCKED_BODY = envelope('La cuenta está bloqueada');

type Act = (user: { userId: string; email: string; password: string; token: string }) => Promise<request.Response>;

describe('a login in flight when every session of its user ends', () => {
  let t: TestApp;
  let admin: () => ReturnType<typeof request>;
  const asAdmin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    t = await startApp({ ADMIN_PORT: '0', ADMIN_TOKENS: ADMIN_TOKEN });
    const base = `http://127.0.0.1:${t.app.get(AdminServer).port}`;
    admin = () => request(base);
  });
  afterAll(() => t.close());

  /** A reset link of the user's, as the mail would carry it. */
  async function resetToken(userId: string): Promise<string> {
    const { token, hash } = newAccountToken();
    await t.app.get(AccountTokensRepository).issue(userId, 'password_reset', hash, 1800);
    return token;
  }

  const ACTS: Array<{ name: string; act: Act; revoked: number; login: string; survivor?: boolean }> = [
    { name: "an operator's lock", act: (u) => admin().post(`/admin/v1/users/${u.userId}/lock`).set(asAdmin), revoked: 1, login: LOCKED_BODY },
    {
      name: 'a password reset',
      act: async (u) => t.http().post(`${API}/password/reset`).send({ token: await resetToken(u.userId), newPassword: 'a-new-password-1' }),
      revoked: 1,
      login: BAD_CREDENTIALS_BODY,
    },
    {
      name: 'a password change (the changing session goes on)',
      act: (u) => passwordRequest(t, u.token, { currentPassword: u.password, newPassword: 'a-new-password-2' }),
      revoked: 0,
      login: BAD_CREDENTIALS_BODY,
      survivor: true,
    },
    { name: 'an account deletion', act: (u) => t.http().delete(`${API}/account`).set(bearer(u.token)).send({ password: u.password }), revoked: 1, login: BAD_CREDENTIALS_BODY },
    { name: "an operator's end of every session", act: (u) => admin().delete(`/admin/v1/users/${u.userId}/sessions`).set(asAdmin), revoked: 1, login: BAD_CREDENTIALS_BODY },
    { name: 'logout scope all', act: (u) => logoutRequest(t, u.token).send({ scope: 'all' }), revoked: 1, login: BAD_CREDENTIALS_BODY },
    { name: 'logout scope others', act: (u) => logoutRequest(t, u.token).send({ scope: 'others' }), revoked: 0, login: BAD_CREDENTIALS_BODY, survivor: true },
  ];

  for (const { name, act, revoked, login, survivor } of ACTS) {
    it(`${name}, committed between the login's password check and its insert: the login opens nothing`, async () => {
      const user = await register(t);
      const first = await loginWithRefresh(t, user.email, user.password);
      const held = holdNextCall(t.app.get(SessionsService), 'open');
      const inFlight = Promise.resolve(loginRequest(t, user.email, user.password));
      await held.reached;

      const ended = await act({ ...user, token: first.token });
      expect(ended.status).toBe(200);
      if (ended.body.data && 'revokedSessions' in ended.body.data) expect(ended.body.data.revokedSessions).toBe(revoked);
      held.release();

      const res = await inFlight;
      expect(res.status).toBe(login === LOCKED_BODY ? 403 : 401);
      expect(res.text).toBe(login);
      expect(res.headers['www-authenticate']).toBeUndefined();
      // Nothing was opened: the user's rows are the first session's alone (none at all once deleted).
      const rows = await sessionRows(t, user.userId);
      expect(rows.map((r) => r.id)).toStrictEqual(name.includes('deletion') ? [] : [first.sessionId]);
      if (!name.includes('deletion')) {
        expect(rows[0].revoked_at === null).toBe(Boolean(survivor));
        const failed = await auditRows(t, { event: 'login_failed', userId: user.userId });
        expect(failed.map((row) => row.details)).toStrictEqual([{ email: user.email, reason: 'sessions_ended' }]);
      }
    });
  }

  it('the other order: a login that committed before the act is ended by it, and counted', async () => {
    const user = await register(t);
    const first = await loginWithRefresh(t, user.email, user.password);
    // The act is held at its start (before its transaction): the login runs to its answer.
    const held = holdNextCall(t.app.get(SessionsService), 'endAll');
    const ending = Promise.resolve(logoutRequest(t, first.token).send({ scope: 'all' }));
    await held.reached;
    const second = await loginWithRefresh(t, user.email, user.password);
    held.release();

    const ended = await ending;
    expect(ended.status).toBe(200);
    expect(ended.body.data).toStrictEqual({ revokedSessions: 2 });
    expectInvalidToken(await meRequest(t, second.token));
    expectInvalidToken(await refreshRequest(t, second.refreshToken));
    expect((await sessionRows(t, user.userId)).map((r) => r.ended_reason)).toStrictEqual(['logout_all', 'logout_all']);
  });

  it.skipIf(lacks('postgres', "a login waiting on the user's row while an end holds it"))(
    "a login that reaches its insert while the end holds the user's row waits for the end's commit, then opens nothing",
    async () => {
      const user = await register(t);
      const first = await loginWithRefresh(t, user.email, user.password);
      // The end is held after its epoch advance, before it ends the sessions: the user's row is locked.
      const held = holdNextCall(t.app.get(SessionsRepository), 'endAll');
      const ending = Promise.resolve(admin().post(`/admin/v1/users/${user.userId}/lock`).set(asAdmin));
      await held.reached;
      const inFlight = Promise.resolve(loginRequest(t, user.email, user.password));
      expect(await blockedOpen(t)).toMatch(/FOR SHARE/);
      held.release();

      expect((await ending).body.data).toStrictEqual({ revokedSessions: 1 });
      const res = await inFlight;
      expect(res.status).toBe(403);
      expect(res.text).toBe(LOCKED_BODY);
      expect((await sessionRows(t, user.userId)).map((r) => r.id)).toStrictEqual([first.sessionId]);
    },
  );

  it("a lock set by hand, with no end of the sessions, refuses the user's tokens on the next request and refresh", async () => {
    const user = await register(t);
    const session = await loginWithRefresh(t, user.email, user.password);
    await meRequest(t, session.token).expect(200);
    await t.dataSource.query('UPDATE users SET locked_at = now() WHERE id = $1', [user.userId]);
    expectInvalidToken(await meRequest(t, session.token));
    expectInvalidToken(await refreshRequest(t, session.refreshToken));
  });
});

/** The statement of the login waiting on a lock, once it does. */
async function blockedOpen(t: TestApp): Promise<string> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
    const [row] = await t.dataSource.query(`SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO sessions%'`);
    if (row) return row.query;
  }
  throw new Error("no login waited on the user's row");
}
