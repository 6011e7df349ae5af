import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectInvalidToken } from '../support/expectations.js';
import { logoutAudits, sessionRow } from '../support/rows.js';
import { startApp, type TestApp } from '../support/app.js';
import { EXPIRED_BODY, INVALID_TOKEN_BODY, LOGGED_OUT_BODY, MESSAGES } from '../support/messages.js';
import { endSessionRequest, loginRequest, logoutRequest, meRequest, refreshRequest } from '../support/requests.js';
import { signToken } from '../support/tokens.js';
import { login, register, registerAndLogin } from '../support/users.js';
import { expiredClaimsFor } from '../support/tokens.js';

describe('POST /api/v1/auth/logout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('revokes the bearer session: 200, exact body, headers, row kept with revoked_at, one audit row', async () => {
    const user = await registerAndLogin(t);
    const res = await logoutRequest(t, user.token).set('X-Request-Id', 'logout-req-1').set('User-Agent', 'e2e/1.0');

    expect(res.status).toBe(200);
    expect(res.text).toBe(LOGGED_OUT_BODY);
    expect(res.headers['clear-site-data']).toBe('"storage"');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-request-id']).toBe('logout-req-1');

    const row = await sessionRow(t, user.sessionId);
    expect(row.revoked_at).toBeInstanceOf(Date);
    expect(row.user_id).toBe(user.userId);

    const audits = await logoutAudits(t, user.sessionId);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ user_id: user.userId, request_id: 'logout-req-1', user_agent: 'e2e/1.0' });
    expect(JSON.stringify(audits[0])).not.toContain(user.token);
  });

  it('refuses the logged-out token at once on every protected route, and a second logout is 401', async () => {
    const user = await registerAndLogin(t);
    await meRequest(t, user.token).expect(200);
    await logoutRequest(t, user.token).expect(200);

    const me = await meRequest(t, user.token);
    expect(me.status).toBe(401);
    expect(me.text).toBe(INVALID_TOKEN_BODY);
    expect(me.headers['www-authenticate']).toBe('Bearer error="invalid_token"');

    const again = await logoutRequest(t, user.token);
    expect(again.status).toBe(401);
    expect(again.text).toBe(INVALID_TOKEN_BODY);
    expect(await logoutAudits(t, user.sessionId)).toHaveLength(1);
  });

  it('ends only that session: another session of the same user stays valid', async () => {
    const user = await registerAndLogin(t);
    const second = await login(t, user.email, user.password);
    await logoutRequest(t, user.token).expect(200);
    await meRequest(t, second.token).expect(200);
  });

  it('with a body token of the same user, revokes that session and leaves the bearer alive', async () => {
    const user = await registerAndLogin(t);
    const other = await login(t, user.email, user.password);

    await logoutRequest(t, user.token).send({ token: other.token }).expect(200);

    expect((await sessionRow(t, other.sessionId)).revoked_at).toBeInstanceOf(Date);
    expect((await sessionRow(t, user.sessionId)).revoked_at).toBeNull();
    await meRequest(t, other.token).expect(401);
    await meRequest(t, user.token).expect(200);
    expect(await logoutAudits(t, other.sessionId)).toHaveLength(1);
  });

  it('with the bearer token itself in the body, revokes the bearer session', async () => {
    const user = await registerAndLogin(t);
    await logoutRequest(t, user.token).send({ token: user.token }).expect(200);
    await meRequest(t, user.token).expect(401);
  });

  it("refuses another user's token in the body with 401 and revokes nothing", async () => {
    const alice = await registerAndLogin(t);
    const bob = await registerAndLogin(t);

    const res = await logoutRequest(t, alice.token).send({ token: bob.token });
    expect(res.status).toBe(401);
    expect(res.text).toBe(INVALID_TOKEN_BODY);

    expect((await sessionRow(t, bob.sessionId)).revoked_at).toBeNull();
    expect((await sessionRow(t, alice.sessionId)).revoked_at).toBeNull();
    await meRequest(t, bob.token).expect(200);
    await meRequest(t, alice.token).expect(200);
  });

  it.each([
    ['an empty string', ''],
    ['a number', 42],
    ['null', null],
    ['an object', { a: 1 }],
    ['an array', ['x']],
    ['garbage', 'not-a-jwt'],
  ])('answers 401 to a body token that is %s, and revokes nothing', async (_, token) => {
    const user = await registerAndLogin(t);
    const res = await logoutRequest(t, user.token).send({ token });
    expect(res.status).toBe(401);
    expect(res.text).toBe(INVALID_TOKEN_BODY);
    expect((await sessionRow(t, user.sessionId)).revoked_at).toBeNull();
  });

  it('answers 401 to an already revoked body token', async () => {
    const user = await registerAndLogin(t);
    const other = await login(t, user.email, user.password);
    await logoutRequest(t, other.token).expect(200);
    await logoutRequest(t, user.token).send({ token: other.token }).expect(401);
  });

  it('answers 403 to an expired body token of the same user, and revokes nothing', async () => {
    const user = await registerAndLogin(t);
    const expired = signToken(expiredClaimsFor(user));
    const res = await logoutRequest(t, user.token).send({ token: expired });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, message: MESSAGES.expired });
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect((await sessionRow(t, user.sessionId)).revoked_at).toBeNull();
  });

  it('answers 403 to an expired bearer token, on logout and on me', async () => {
    const user = await registerAndLogin(t);
    const expired = signToken(expiredClaimsFor(user));
    for (const res of [await logoutRequest(t, expired), await meRequest(t, expired)]) {
      expect(res.status).toBe(403);
      expect(res.text).toBe(EXPIRED_BODY);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
  });

  it('answers 401 without a token, with the same body as every other token failure', async () => {
    const res = await logoutRequest(t);
    expect(res.status).toBe(401);
    expect(res.text).toBe(INVALID_TOKEN_BODY);
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('accepts an empty JSON body and an empty object as "no token"', async () => {
    const a = await registerAndLogin(t);
    await logoutRequest(t, a.token).set('Content-Type', 'application/json').expect(200);
    const b = await registerAndLogin(t);
    await logoutRequest(t, b.token).send({}).expect(200);
  });

  it.each(['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'takes an empty body declared as %s as no body (fetch with body "", curl -d "")',
    async (contentType) => {
      const user = await registerAndLogin(t);
      await logoutRequest(t, user.token).set('Content-Type', contentType).send('').expect(200);
      await meRequest(t, user.token).expect(401);
    },
  );

  it('answers 400 with details to a body that is not JSON, not an object, or not application/json', async () => {
    const user = await registerAndLogin(t);
    const cases = [
      logoutRequest(t, user.token).set('Content-Type', 'application/json').send('{"token":'),
      logoutRequest(t, user.token).set('Content-Type', 'application/json').send('"a string"'),
      logoutRequest(t, user.token).set('Content-Type', 'text/plain').send('hello'),
      logoutRequest(t, user.token).set('Content-Type', 'application/x-www-form-urlencoded').send('token=abc'),
      logoutRequest(t, user.token).send({ token: user.token, extra: true }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.status).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.message).toBe(MESSAGES.invalidRequest);
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    expect((await sessionRow(t, user.sessionId)).revoked_at).toBeNull();
  });

  it('gives exactly one 200 and one audit row among 50 simultaneous logouts of one token', async () => {
    const user = await registerAndLogin(t);
    const results = await Promise.all(Array.from({ length: 50 }, () => logoutRequest(t, user.token)));
    const statuses = results.map((r) => r.status);

    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(49);
    for (const res of results.filter((r) => r.status === 401)) expect(res.text).toBe(INVALID_TOKEN_BODY);
    expect(await logoutAudits(t, user.sessionId)).toHaveLength(1);
  });
});

// Clear-Site-Data and the refresh cookie only when the caller's own session ends: a browser obeys
// them for the whole client, whose session may go on. "cookies" reaches every cookie of the
// registrable domain (a sibling app's too), so it is sent only with LOGOUT_CLEAR_SITE_COOKIES=true.
describe.each([
  { mode: 'bearer mode', cookieMode: false, siteCookies: false },
  { mode: 'bearer mode, LOGOUT_CLEAR_SITE_COOKIES=true', cookieMode: false, siteCookies: true },
  { mode: 'cookie mode', cookieMode: true, siteCookies: false },
  { mode: 'cookie mode, LOGOUT_CLEAR_SITE_COOKIES=true', cookieMode: true, siteCookies: true },
])('what a logout tells the browser to forget, $mode', ({ cookieMode, siteCookies }) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ REFRESH_TOKEN_COOKIE: String(cookieMode), LOGOUT_CLEAR_SITE_COOKIES: String(siteCookies) });
  });
  afterAll(() => t.close());

  const CLEAR_SITE_DATA = siteCookies ? '"cookies", "storage"' : '"storage"';
  const CLEARED_COOKIE = 'refresh_token=; Max-Age=0; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict';

  /** A session of `user` with its refresh token, from the body or the cookie as the mode has it. */
  async function signIn(user: { email: string; password: string }) {
    const res = await loginRequest(t, user.email, user.password).expect(200);
    const { accessToken: token, sessionId, refreshToken } = res.body.data;
    if (!cookieMode) return { token: token as string, sessionId: sessionId as string, refresh: refreshToken as string };
    const [cookie] = res.headers['set-cookie'] as unknown as string[];
    // The clearing Set-Cookie must carry the attributes the cookie was set with, or it clears nothing.
    expect(cookie!.split('; ').slice(2).join('; ')).toBe(CLEARED_COOKIE.split('; ').slice(2).join('; '));
    return { token: token as string, sessionId: sessionId as string, refresh: /^refresh_token=([^;]+);/.exec(cookie!)![1]! };
  }
  const refresh = (refreshToken: string) =>
    cookieMode ? refreshRequest(t).set('Cookie', `refresh_token=${refreshToken}`).send({}) : refreshRequest(t, refreshToken);

  /** A user with two sessions: `caller` (the bearer) and `other`. */
  async function twoSessions() {
    const user = await register(t);
    return { caller: await signIn(user), other: await signIn(user) };
  }

  function expectCallerForgotten(res: Response) {
    expect(res.status).toBe(200);
    expect(res.headers['clear-site-data']).toBe(CLEAR_SITE_DATA);
    expect(res.headers['set-cookie']).toStrictEqual(cookieMode ? [CLEARED_COOKIE] : undefined);
  }
  function expectCallerKept(res: Response) {
    expect(res.status).toBe(200);
    expect(res.headers['clear-site-data']).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
  }

  it('its own session (no token): cleared', async () => {
    const { caller, other } = await twoSessions();
    expectCallerForgotten(await logoutRequest(t, caller.token));
    expectInvalidToken(await refresh(caller.refresh));
    await refresh(other.refresh).expect(200);
  });

  it('its own session by its own token in the body: cleared', async () => {
    const { caller, other } = await twoSessions();
    expectCallerForgotten(await logoutRequest(t, caller.token).send({ token: caller.token }));
    expectInvalidToken(await refresh(caller.refresh));
    await refresh(other.refresh).expect(200);
  });

  it("another session by its token in the body: nothing cleared, the caller's session and refresh go on", async () => {
    const { caller, other } = await twoSessions();
    expectCallerKept(await logoutRequest(t, caller.token).send({ token: other.token }));
    expectInvalidToken(await refresh(other.refresh));
    await meRequest(t, caller.token).expect(200);
    await refresh(caller.refresh).expect(200);
  });

  it("scope others: nothing cleared, the caller's session and refresh go on", async () => {
    const { caller, other } = await twoSessions();
    const res = await logoutRequest(t, caller.token).send({ scope: 'others' });
    expectCallerKept(res);
    expect(res.body.data).toStrictEqual({ revokedSessions: 1 });
    expectInvalidToken(await refresh(other.refresh));
    await refresh(caller.refresh).expect(200);
  });

  it("scope all: cleared, since the caller's own session ends too", async () => {
    const { caller, other } = await twoSessions();
    const res = await logoutRequest(t, caller.token).send({ scope: 'all' });
    expectCallerForgotten(res);
    expect(res.body.data).toStrictEqual({ revokedSessions: 2 });
    for (const s of [caller, other]) expectInvalidToken(await refresh(s.refresh));
  });

  it('DELETE /sessions/:id: of another session, nothing cleared; of its own (any case of the id), cleared', async () => {
    const { caller, other } = await twoSessions();
    expectCallerKept(await endSessionRequest(t, caller.token, other.sessionId));
    await refresh(caller.refresh).expect(200);
    expectCallerForgotten(await endSessionRequest(t, caller.token, caller.sessionId.toUpperCase()));
    expectInvalidToken(await refresh(caller.refresh));
  });

  it('a refused logout clears nothing', async () => {
    const { caller, other } = await twoSessions();
    await logoutRequest(t, other.token).expect(200);
    const res = await logoutRequest(t, caller.token).send({ token: other.token });
    expectInvalidToken(res);
    expect(res.headers['clear-site-data']).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});
