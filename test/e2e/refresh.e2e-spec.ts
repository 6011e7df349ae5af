import { randomBytes } from 'node:crypto';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectInvalidRequest, expectInvalidToken, expectTooMany } from '../support/expectations.js';
import { auditRows, sessionRow, setSessionClock, userRow } from '../support/rows.js';
import { startApp, type TestApp } from '../support/app.js';
import { BAD_CREDENTIALS_BODY, MESSAGES } from '../support/messages.js';
import { API, bearer, loginRequest, logoutRequest, meRequest, passwordRequest, refreshRequest, sessionsRequest } from '../support/requests.js';
import { loginWithRefresh, register, registerAndLoginWithRefresh, type WithRefresh } from '../support/users.js';
import { decodePart } from '../support/tokens.js';

// Refresh tokens (rotation, retries, reuse) and the password change, read back from the rows
// of the run's database. Time is moved in the database (refreshed_at, expires_at, last_used_at)
// rather than waited for.

const REFRESH_TOKEN = /^[\w-]{70}$/;
/** A refresh token's bytes: session id (16), generation (4), secret (32). */
const SECRET_AT = 20;

/** The same session and generation as `token`, with another secret: a token the server never issued. */
const forged = (token: string) => {
  const bytes = Buffer.from(token, 'base64url');
  randomBytes(32).copy(bytes, SECRET_AT);
  return bytes.toString('base64url');
};

/** The 200 of a refresh: exact keys, the same session. */
function expectRefreshed(res: Response, sessionId: string) {
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ success: true, message: MESSAGES.refreshed });
  expect(Object.keys(res.body.data).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'sessionId', 'tokenType']);
  expect(res.body.data).toMatchObject({ tokenType: 'Bearer', sessionId });
  expect(res.body.data.refreshToken).toMatch(REFRESH_TOKEN);
  expect(res.headers['cache-control']).toBe('no-store');
  return res.body.data as { accessToken: string; refreshToken: string; expiresIn: number };
}

/** Refreshes `token` of session `sessionId`, expecting a 200: the new tokens. */
const rotate = async (t: TestApp, token: string, sessionId: string) => expectRefreshed(await refreshRequest(t, token), sessionId);

/** What refresh may change in a row: compared before and after a request that must change nothing. */
const refreshColumns = async (t: TestApp, id: string) => {
  const row = await sessionRow(t, id);
  return {
    hash: row.refresh_token_hash?.toString('hex'),
    previous: row.previous_refresh_token_hash?.toString('hex') ?? null,
    generation: row.refresh_generation,
    refreshedAt: row.refreshed_at?.getTime() ?? null,
    revokedAt: row.revoked_at,
    endedReason: row.ended_reason,
  };
};

const NEW_PASSWORD = 'new-password-456';

/** 401 Credenciales inválidas: not a token error, so no WWW-Authenticate. */
function expectBadCredentials(res: Response) {
  expect(res.status).toBe(401);
  expect(res.text).toBe(BAD_CREDENTIALS_BODY);
  expect(res.headers['www-authenticate']).toBeUndefined();
}

const reuseAudits = (t: TestApp, sessionId: string) => auditRows(t, { event: 'refresh_reuse', sessionId });

/** The session is over for good: ended for `reason`, its access and refresh tokens refused. */
async function expectEnded(t: TestApp, user: { sessionId: string }, reason: string, tokens: { access?: string[]; refresh?: string[] }) {
  const row = await sessionRow(t, user.sessionId);
  expect(row.revoked_at).toBeInstanceOf(Date);
  expect(row.ended_reason).toBe(reason);
  for (const token of tokens.access ?? []) expectInvalidToken(await meRequest(t, token));
  for (const token of tokens.refresh ?? []) expectInvalidToken(await refreshRequest(t, token));
}

describe('refresh tokens (bearer mode)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  describe('login', () => {
    it('returns a 70-character base64url refresh token, and the database keeps only a hash of it', async () => {
      const user = await registerAndLoginWithRefresh(t);
      expect(user.refreshToken).toMatch(REFRESH_TOKEN);

      const row = await sessionRow(t, user.sessionId);
      expect(row.refresh_token_hash).toBeInstanceOf(Buffer);
      expect(row.refresh_token_hash).toHaveLength(32);
      expect(row).toMatchObject({ refresh_generation: 0, previous_refresh_token_hash: null, refreshed_at: null });

      // Neither the token nor its secret, in any spelling, in any column of the row or the audit rows.
      const secret = Buffer.from(user.refreshToken, 'base64url').subarray(SECRET_AT);
      const traces = [user.refreshToken, user.refreshToken.slice(-40), secret.toString('hex'), secret.toString('base64')];
      for (const stored of [row, ...(await auditRows(t, { userId: user.userId }))]) {
        for (const value of Object.values(stored)) {
          if (Buffer.isBuffer(value)) expect(value.includes(secret.subarray(0, 8))).toBe(false);
          else for (const trace of traces) expect(JSON.stringify(value) ?? '').not.toContain(trace);
        }
      }
    });
  });

  describe('rotation', () => {
    it('answers 200 with new tokens for the same session; the old refresh token is no longer current', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const before = await sessionRow(t, user.sessionId);

      const res = await refreshRequest(t, user.refreshToken).set('X-Request-Id', 'refresh-1');
      const next = expectRefreshed(res, user.sessionId);
      expect(res.text).not.toContain(user.refreshToken);
      expect(next.refreshToken).not.toBe(user.refreshToken);
      expect(next.accessToken).not.toBe(user.token);
      expect(next.expiresIn).toBe(900);
      expect(res.headers['www-authenticate']).toBeUndefined();

      const me = await meRequest(t, next.accessToken).expect(200);
      expect(me.body.data).toEqual({ id: user.userId, email: user.email, sessionId: user.sessionId, amr: ['pwd'], authenticatedAt: expect.any(String) });

      const after = await sessionRow(t, user.sessionId);
      expect(after.refresh_generation).toBe(1);
      expect(after.previous_refresh_token_hash).toEqual(before.refresh_token_hash);
      expect(after.refresh_token_hash).not.toEqual(before.refresh_token_hash);
      expect(after.refreshed_at).toBeInstanceOf(Date);
      expect(after.revoked_at).toBeNull();
      expect(after.expires_at.getTime()).toBe(before.expires_at.getTime()); // never extended
      await meRequest(t, user.token).expect(200); // the login's access token lives on until its exp
    });

    it('a retry within the grace period, while the successor is unused, gets that same successor', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const first = await rotate(t, user.refreshToken, user.sessionId);
      const state = await refreshColumns(t, user.sessionId);

      const retry = await rotate(t, user.refreshToken, user.sessionId);
      expect(retry.refreshToken).toBe(first.refreshToken);
      expect(retry.accessToken).not.toBe(first.accessToken);
      expect(await refreshColumns(t, user.sessionId)).toEqual(state);
      await meRequest(t, retry.accessToken).expect(200);
      await meRequest(t, first.accessToken).expect(200);
      expect(await reuseAudits(t, user.sessionId)).toHaveLength(0);

      // And the successor rotates as usual.
      await rotate(t, first.refreshToken, user.sessionId);
      expect((await sessionRow(t, user.sessionId)).refresh_generation).toBe(2);
    });

    it('20 simultaneous refreshes of one token all answer 200 with one and the same successor', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const answers = await Promise.all(Array.from({ length: 20 }, () => refreshRequest(t, user.refreshToken)));
      const successors = new Set(answers.map((res) => expectRefreshed(res, user.sessionId).refreshToken));
      expect(successors.size).toBe(1);
      expect(new Set(answers.map((res) => res.body.data.accessToken)).size).toBe(20);

      const row = await sessionRow(t, user.sessionId);
      expect(row.refresh_generation).toBe(1);
      expect(row.revoked_at).toBeNull();
      expect(await reuseAudits(t, user.sessionId)).toHaveLength(0);

      const [successor] = successors;
      await rotate(t, successor!, user.sessionId);
      expect((await sessionRow(t, user.sessionId)).refresh_generation).toBe(2);
    });
  });

  describe('reuse ends the session', () => {
    it('a rotated token presented after the grace period: 401, the session ends, one audit row', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const next = await rotate(t, user.refreshToken, user.sessionId);
      await setSessionClock(t, user.sessionId, 'refreshed_at', -3600);

      const res = await refreshRequest(t, user.refreshToken).set('X-Request-Id', 'reuse-1');
      expectInvalidToken(res);
      await expectEnded(t, user, 'refresh_reuse', { access: [user.token, next.accessToken], refresh: [next.refreshToken] });

      expectInvalidToken(await refreshRequest(t, user.refreshToken)); // again: still 401, no second end
      const audits = await reuseAudits(t, user.sessionId);
      expect(audits).toHaveLength(1);
      const details = { reason: 'refresh_reuse', revokedSessions: 1 };
      expect(audits[0]).toMatchObject({ user_id: user.userId, request_id: 'reuse-1', details });
      expect(JSON.stringify(audits[0])).not.toContain(user.refreshToken);
    });

    it('a rotated token presented after its successor was used, even within the grace period', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const r1 = await rotate(t, user.refreshToken, user.sessionId);
      const r2 = await rotate(t, r1.refreshToken, user.sessionId);

      expectInvalidToken(await refreshRequest(t, user.refreshToken));
      await expectEnded(t, user, 'refresh_reuse', { access: [r2.accessToken], refresh: [r2.refreshToken] });
      expect(await reuseAudits(t, user.sessionId)).toHaveLength(1);
    });

    it('an older ancestor (R0 after R1, R2 and R3) ends the session too', async () => {
      const user = await registerAndLoginWithRefresh(t);
      let current = user.refreshToken;
      for (let i = 0; i < 3; i++) current = (await rotate(t, current, user.sessionId)).refreshToken;
      expect((await sessionRow(t, user.sessionId)).refresh_generation).toBe(3);

      expectInvalidToken(await refreshRequest(t, user.refreshToken));
      await expectEnded(t, user, 'refresh_reuse', { refresh: [current] });
      expect(await reuseAudits(t, user.sessionId)).toHaveLength(1);
    });
  });

  describe('tokens that are not a live refresh token: 401, and nothing changes', () => {
    let user: WithRefresh;
    beforeAll(async () => {
      user = await registerAndLoginWithRefresh(t);
    });

    /** Each case leaves the session as it was: same refresh state, no reuse audit. */
    async function expectUnchanged(send: () => Promise<Response>, expectAnswer: (res: Response) => void) {
      const before = await refreshColumns(t, user.sessionId);
      expectAnswer(await send());
      expect(await refreshColumns(t, user.sessionId)).toEqual(before);
      expect(await reuseAudits(t, user.sessionId)).toHaveLength(0);
    }

    it('a made-up token naming a real session (its secret changed) does not end that session', async () => {
      for (let i = 0; i < 3; i++) await expectUnchanged(() => refreshRequest(t, forged(user.refreshToken)), expectInvalidToken);
    });

    it.each<[string, unknown]>([
      ['empty', ''],
      ['too short', 'abc'],
      ['one character short', 'x'.repeat(69)],
      ['one character long', 'x'.repeat(71)],
      ['not base64url', `${'x'.repeat(69)}=`],
      ['a number', 12345],
      ['an object', { token: 'x' }],
      ['an array', ['x']],
      ['null', null],
      ['true', true],
    ])('refreshToken %s', async (_, value) => {
      await expectUnchanged(() => refreshRequest(t, value), expectInvalidToken);
    });

    it('the real token with a character added, removed, or its spare bits set', async () => {
      const token = user.refreshToken;
      // The last character carries 2 bits and 4 zero ones: only A, Q, g and w are canonical.
      for (const value of [`${token}A`, token.slice(0, -1), token.slice(1), `${token.slice(0, -1)}B`]) {
        await expectUnchanged(() => refreshRequest(t, value), expectInvalidToken);
      }
    });

    it('a well-formed token naming no session', async () => {
      const bytes = Buffer.from(user.refreshToken, 'base64url');
      randomBytes(16).copy(bytes, 0);
      await expectUnchanged(() => refreshRequest(t, bytes.toString('base64url')), expectInvalidToken);
    });

    it('no refreshToken: a body of {} or no body at all', async () => {
      await expectUnchanged(() => refreshRequest(t).send({}), expectInvalidToken);
      await expectUnchanged(() => refreshRequest(t), expectInvalidToken);
    });

    it('an access token presented as the refresh token', async () => {
      await expectUnchanged(() => refreshRequest(t, user.token), expectInvalidToken);
    });

    it('a refresh token as the bearer of GET /me, POST /logout and GET /sessions: the one 401 token envelope, nothing ends', async () => {
      const sends = [
        () => meRequest(t, user.refreshToken),
        () => logoutRequest(t, user.refreshToken),
        () => logoutRequest(t, user.refreshToken).send({ scope: 'all' }),
        () => sessionsRequest(t, user.refreshToken),
        () => t.http().get(`${API}/sessions`).set('Authorization', `bearer ${user.refreshToken}`),
      ];
      for (const send of sends) await expectUnchanged(send, expectInvalidToken);
      expect(await auditRows(t, { event: 'logout', userId: user.userId })).toHaveLength(0);
      await meRequest(t, user.token).expect(200);
    });

    it('a refresh token as the logout body token, under a valid bearer: 401, nothing ends', async () => {
      await expectUnchanged(() => logoutRequest(t, user.token).send({ token: user.refreshToken }), expectInvalidToken);
      await expectUnchanged(() => logoutRequest(t, user.token).send({ token: user.refreshToken, scope: 'current' }), expectInvalidToken);
      expect(await auditRows(t, { event: 'logout', userId: user.userId })).toHaveLength(0);
      const live = await sessionsRequest(t, user.token).expect(200);
      expect(live.body.data.sessions.map((s: { id: string }) => s.id)).toContain(user.sessionId);
      await meRequest(t, user.token).expect(200);
    });

    it('an unknown property in the body: 400', async () => {
      await expectUnchanged(() => refreshRequest(t).send({ refreshToken: user.refreshToken, scope: 'all' }), expectInvalidRequest);
    });

    it('after each kind of refusal above, the real token still rotates: none of them used it up', async () => {
      const own = await registerAndLoginWithRefresh(t);
      const refusals = [
        () => refreshRequest(t, forged(own.refreshToken)),
        () => refreshRequest(t, `${own.refreshToken}A`),
        () => refreshRequest(t, own.refreshToken.slice(0, -1)),
        () => refreshRequest(t, own.token),
        () => refreshRequest(t).send({}),
        () => meRequest(t, own.refreshToken),
        () => logoutRequest(t, own.refreshToken).send({ scope: 'all' }),
        () => logoutRequest(t, own.token).send({ token: own.refreshToken }),
      ];
      for (const send of refusals) expectInvalidToken(await send());
      expectInvalidRequest(await refreshRequest(t).send({ refreshToken: own.refreshToken, scope: 'all' }));
      expect((await sessionRow(t, own.sessionId)).refresh_generation).toBe(0);

      const next = await rotate(t, own.refreshToken, own.sessionId);
      expect((await sessionRow(t, own.sessionId)).refresh_generation).toBe(1);
      await meRequest(t, next.accessToken).expect(200);
    });

    it('a made-up token of an earlier generation, after rotation and past the grace period, ends nothing', async () => {
      const other = await registerAndLoginWithRefresh(t);
      const next = await rotate(t, other.refreshToken, other.sessionId);
      await setSessionClock(t, other.sessionId, 'refreshed_at', -3600);
      for (const made of [forged(other.refreshToken), forged(next.refreshToken)]) {
        expectInvalidToken(await refreshRequest(t, made));
      }
      expect((await sessionRow(t, other.sessionId)).revoked_at).toBeNull();
      expect(await reuseAudits(t, other.sessionId)).toHaveLength(0);
      await rotate(t, next.refreshToken, other.sessionId);
    });
  });

  describe('sessions that are over', () => {
    it.each([
      ['past SESSION_MAX_TTL', 'expires_at', -1],
      ['idle for 8 days', 'last_used_at', -8 * 86_400],
    ] as const)('a session %s: 401, and the refresh does not revive it', async (_, column, seconds) => {
      const user = await registerAndLoginWithRefresh(t);
      await setSessionClock(t, user.sessionId, column, seconds);
      const before = await refreshColumns(t, user.sessionId);
      expectInvalidToken(await refreshRequest(t, user.refreshToken));
      expect(await refreshColumns(t, user.sessionId)).toEqual(before);
      expectInvalidToken(await meRequest(t, user.token));
    });

    it('logout of the session (scope current) kills its refresh token, rotated or not', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const next = await rotate(t, user.refreshToken, user.sessionId);
      await logoutRequest(t, next.accessToken).expect(200);
      expectInvalidToken(await refreshRequest(t, next.refreshToken));
      expectInvalidToken(await refreshRequest(t, user.refreshToken)); // the retry path is closed too
      expect((await sessionRow(t, user.sessionId)).ended_reason).toBe('logout');
      expect(await reuseAudits(t, user.sessionId)).toHaveLength(0);
    });

    it('logout with scope others or all, and ending a session by id, kill the refresh tokens of what they end', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const second = await loginWithRefresh(t, user.email, user.password);
      const third = await loginWithRefresh(t, user.email, user.password);
      const fourth = await loginWithRefresh(t, user.email, user.password);

      await t.http().delete(`${API}/sessions/${fourth.sessionId}`).set(bearer(user.token)).expect(200);
      expectInvalidToken(await refreshRequest(t, fourth.refreshToken));

      await logoutRequest(t, user.token).send({ scope: 'others' }).expect(200);
      expectInvalidToken(await refreshRequest(t, second.refreshToken));
      expectInvalidToken(await refreshRequest(t, third.refreshToken));
      const kept = await rotate(t, user.refreshToken, user.sessionId);

      await logoutRequest(t, kept.accessToken).send({ scope: 'all' }).expect(200);
      expectInvalidToken(await refreshRequest(t, kept.refreshToken));
      expect((await sessionRow(t, user.sessionId)).ended_reason).toBe('logout_all');
      expect((await sessionRow(t, second.sessionId)).ended_reason).toBe('logout_others');
      expect((await sessionRow(t, fourth.sessionId)).ended_reason).toBe('revoked_by_id');
    });

    it('the access token from a refresh never outlives the session: exp and expiresIn bounded by its end', async () => {
      const user = await registerAndLoginWithRefresh(t);
      await setSessionClock(t, user.sessionId, 'expires_at', 60);
      const ends = Math.floor((await sessionRow(t, user.sessionId)).expires_at.getTime() / 1000);

      const next = await rotate(t, user.refreshToken, user.sessionId);
      const { exp, iat } = decodePart(next.accessToken, 1);
      expect(exp).toBeLessThanOrEqual(ends);
      expect(next.expiresIn).toBeGreaterThan(0);
      expect(next.expiresIn).toBeLessThanOrEqual(60);
      expect(exp - iat).toBeLessThanOrEqual(60);
      await meRequest(t, next.accessToken).expect(200);
    });
  });
});

describe('refresh tokens in a cookie (REFRESH_TOKEN_COOKIE=true)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ REFRESH_TOKEN_COOKIE: 'true' });
  });
  afterAll(() => t.close());

  const COOKIE = /^refresh_token=([\w-]{70}); Max-Age=(\d+); Path=\/api\/v1\/auth; HttpOnly; Secure; SameSite=Strict$/;
  const CLEARED = /^refresh_token=; Max-Age=0; Path=\/api\/v1\/auth; HttpOnly; Secure; SameSite=Strict$/;

  /** The one Set-Cookie header of a response. */
  const setCookie = (res: Response) => {
    const header = res.headers['set-cookie'] as unknown as string[] | undefined;
    expect(header).toHaveLength(1);
    return header![0]!;
  };

  /** The refresh token the cookie carries, checked for its attributes and its Max-Age (the session's end). */
  const cookieToken = (res: Response) => {
    const match = COOKIE.exec(setCookie(res));
    expect(match).not.toBeNull();
    expect(Number(match![2])).toBeGreaterThan(2_592_000 - 60);
    expect(Number(match![2])).toBeLessThanOrEqual(2_592_000);
    return match![1]!;
  };

  const cookieLogin = async () => {
    const user = await register(t);
    const res = await loginRequest(t, user.email, user.password).expect(200);
    expect(Object.keys(res.body.data).sort()).toEqual(['accessToken', 'expiresIn', 'sessionId', 'tokenType']);
    return { ...user, token: res.body.data.accessToken as string, sessionId: res.body.data.sessionId as string, cookie: cookieToken(res) };
  };

  const withCookie = (token: string) => refreshRequest(t).set('Cookie', `refresh_token=${token}`);

  it('login sets the refresh token as an HttpOnly, Secure, SameSite=Strict cookie, and not in the body', async () => {
    const user = await cookieLogin();
    expect(user.cookie).toMatch(REFRESH_TOKEN);
  });

  it('refresh with the cookie and a JSON body of {}: 200, a new cookie, no refreshToken in the body', async () => {
    const user = await cookieLogin();
    const res = await withCookie(user.cookie).send({});
    expect(res.status).toBe(200);
    expect(res.body.message).toBe(MESSAGES.refreshed);
    expect(Object.keys(res.body.data).sort()).toEqual(['accessToken', 'expiresIn', 'sessionId', 'tokenType']);
    expect(res.body.data.sessionId).toBe(user.sessionId);
    const next = cookieToken(res);
    expect(next).not.toBe(user.cookie);
    expect(cookieToken(await withCookie(user.cookie).send({}).expect(200))).toBe(next); // a retry
    expect((await sessionRow(t, user.sessionId)).refresh_generation).toBe(1);
    await meRequest(t, res.body.data.accessToken).expect(200);
    expect((await withCookie(next).send({})).status).toBe(200);
  });

  it('refresh without a JSON body, or with refreshToken in the body: 400, and the token is not rotated', async () => {
    const user = await cookieLogin();
    const attempts = [
      () => withCookie(user.cookie),
      () => withCookie(user.cookie).set('Content-Type', 'text/plain').send('{}'),
      () => withCookie(user.cookie).type('form').send('refreshToken=x'),
      () => withCookie(user.cookie).send({ refreshToken: user.cookie }),
    ];
    for (const attempt of attempts) {
      const res = await attempt();
      expectInvalidRequest(res);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect((await sessionRow(t, user.sessionId)).refresh_generation).toBe(0);
    expect((await withCookie(user.cookie).send({})).status).toBe(200);
  });

  it('a 401 refresh clears the cookie: no cookie, a made-up one, a reused one', async () => {
    const user = await cookieLogin();
    for (const res of [await refreshRequest(t).send({}), await withCookie(forged(user.cookie)).send({})]) {
      expectInvalidToken(res);
      expect(setCookie(res)).toMatch(CLEARED);
    }
    expect((await sessionRow(t, user.sessionId)).revoked_at).toBeNull();

    await withCookie(user.cookie).send({}).expect(200);
    await setSessionClock(t, user.sessionId, 'refreshed_at', -3600);
    const reuse = await withCookie(user.cookie).send({});
    expectInvalidToken(reuse);
    expect(setCookie(reuse)).toMatch(CLEARED);
    expect((await sessionRow(t, user.sessionId)).ended_reason).toBe('refresh_reuse');
  });

  it('logout clears the cookie (Max-Age=0) and kills the refresh token', async () => {
    const user = await cookieLogin();
    const res = await logoutRequest(t, user.token).expect(200);
    expect(setCookie(res)).toMatch(CLEARED);
    expectInvalidToken(await withCookie(user.cookie).send({}));
  });
});

describe('POST /api/v1/auth/password', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  /** A user with four sessions: the current one, two other live ones, and one logged out already. */
  async function userWithSessions() {
    const user = await registerAndLoginWithRefresh(t);
    const others = [await loginWithRefresh(t, user.email, user.password), await loginWithRefresh(t, user.email, user.password)];
    const gone = await loginWithRefresh(t, user.email, user.password);
    await logoutRequest(t, gone.token).expect(200);
    return { user, others, gone };
  }

  it('200 with the count; every other live session ends (password_changed), the current one goes on', async () => {
    const { user, others, gone } = await userWithSessions();
    const bystander = await registerAndLoginWithRefresh(t);

    const change = { currentPassword: user.password, newPassword: NEW_PASSWORD };
    const res = await passwordRequest(t, user.token, change).set('X-Request-Id', 'password-1');
    expect(res.status).toBe(200);
    expect(res.text).toBe(JSON.stringify({ success: true, message: MESSAGES.passwordChanged, data: { revokedSessions: 2 } }));
    expect(res.headers['cache-control']).toBe('no-store');

    for (const other of others) {
      await expectEnded(t, other, 'password_changed', { access: [other.token], refresh: [other.refreshToken] });
    }
    expect((await sessionRow(t, gone.sessionId)).ended_reason).toBe('logout');
    expect((await sessionRow(t, user.sessionId)).revoked_at).toBeNull();
    await meRequest(t, user.token).expect(200);
    await rotate(t, user.refreshToken, user.sessionId);
    await meRequest(t, bystander.token).expect(200);

    expectBadCredentials(await loginRequest(t, user.email, user.password));
    await loginRequest(t, user.email, NEW_PASSWORD).expect(200);

    const audits = await auditRows(t, { event: 'password_changed', userId: user.userId });
    expect(audits).toHaveLength(1);
    const details = { reason: 'password_changed', revokedSessions: 2 };
    expect(audits[0]).toMatchObject({ session_id: user.sessionId, request_id: 'password-1', details });
    const stored = JSON.stringify(await userRow(t, { id: user.userId })) + JSON.stringify(audits);
    expect(stored).not.toContain(NEW_PASSWORD);
    expect(stored).not.toContain(user.password);
  });

  it('no other session: 200 with revokedSessions 0', async () => {
    const user = await registerAndLoginWithRefresh(t);
    const res = await passwordRequest(t, user.token, { currentPassword: user.password, newPassword: NEW_PASSWORD }).expect(200);
    expect(res.body.data).toEqual({ revokedSessions: 0 });
    const [audit] = await auditRows(t, { event: 'password_changed', userId: user.userId });
    expect(audit.details).toEqual({ reason: 'password_changed', revokedSessions: 0 });
  });

  describe('refused, and nothing changes', () => {
    /** Sends the request, checks the answer, then that the hash, the sessions and the audit are as they were. */
    async function expectNothingChanged(
      body: (password: string) => Record<string, unknown>,
      expectAnswer: (res: Response) => void,
      { withBearer = true } = {},
    ) {
      const { user, others } = await userWithSessions();
      const hash = (await userRow(t, { id: user.userId })).password_hash;
      expectAnswer(await passwordRequest(t, withBearer ? user.token : undefined, body(user.password)));
      expect((await userRow(t, { id: user.userId })).password_hash).toBe(hash);
      for (const session of [user, ...others]) await meRequest(t, session.token).expect(200);
      expect(await auditRows(t, { event: 'password_changed', userId: user.userId })).toHaveLength(0);
      await loginRequest(t, user.email, user.password).expect(200);
    }

    it('a wrong currentPassword: 401 Credenciales inválidas, without WWW-Authenticate', async () => {
      await expectNothingChanged(() => ({ currentPassword: 'wrong-password-1', newPassword: NEW_PASSWORD }), expectBadCredentials);
    });

    it('a newPassword of 7 characters: 400', async () => {
      await expectNothingChanged((currentPassword) => ({ currentPassword, newPassword: '1234567' }), expectInvalidRequest);
    });

    it('no bearer token: 401, the token envelope', async () => {
      const body = (currentPassword: string) => ({ currentPassword, newPassword: NEW_PASSWORD });
      await expectNothingChanged(body, expectInvalidToken, { withBearer: false });
    });
  });
});

// Apps of their own, one at a time: on the embedded database a failed statement costs the next
// query its connection.

describe('POST /api/v1/auth/password under the login rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ THROTTLE_LOGIN_LIMIT: '3' });
  });
  afterAll(() => t.close());

  it('wrong guesses count against the login rate limit: past it, 429 even with the right password', async () => {
    const user = await registerAndLoginWithRefresh(t);
    const hash = (await userRow(t, { id: user.userId })).password_hash;
    const attempt = (currentPassword: string) => passwordRequest(t, user.token, { currentPassword, newPassword: NEW_PASSWORD });
    for (let i = 0; i < 3; i++) expectBadCredentials(await attempt('wrong-password-1'));
    expectTooMany(await attempt(user.password));
    expect((await userRow(t, { id: user.userId })).password_hash).toBe(hash);
  });
});

describe('a refresh token whose generation does not fit the column', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  // The format has 32 bits for it, the column (int4) 31: such a token is malformed, not a 500.
  it('generation 2^31 or 2^32 - 1 in a real session token: 401, nothing changes', async () => {
    const user = await registerAndLoginWithRefresh(t);
    const before = await refreshColumns(t, user.sessionId);
    for (const generation of [2 ** 31, 2 ** 32 - 1]) {
      const bytes = Buffer.from(user.refreshToken, 'base64url');
      bytes.writeUInt32BE(generation, SECRET_AT - 4);
      expectInvalidToken(await refreshRequest(t, bytes.toString('base64url')));
    }
    expect(await refreshColumns(t, user.sessionId)).toEqual(before);
  });
});
