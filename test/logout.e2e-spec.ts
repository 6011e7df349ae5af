import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  bearer,
  claimsFor,
  INVALID_TOKEN_BODY,
  login,
  MESSAGES,
  registerAndLogin,
  signToken,
  startApp,
  type TestApp,
} from './support/test-app.js';

describe('POST /api/v1/auth/logout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  const logout = (token?: string) => {
    const req = t.http().post(`${API}/logout`);
    return token === undefined ? req : req.set(bearer(token));
  };
  const sessionRow = async (id: string) =>
    (await t.dataSource.query('SELECT * FROM sessions WHERE id = $1', [id]))[0];
  const logoutAudits = async (sessionId: string) =>
    t.dataSource.query(`SELECT * FROM audit_events WHERE event = 'logout' AND session_id = $1`, [sessionId]);

  it('revokes the bearer session: 200, exact body, headers, row kept with revoked_at, one audit row', async () => {
    const user = await registerAndLogin(t);
    const res = await logout(user.token).set('X-Request-Id', 'logout-req-1').set('User-Agent', 'e2e/1.0');

    expect(res.status).toBe(200);
    expect(res.text).toBe(JSON.stringify({ success: true, message: MESSAGES.loggedOut }));
    expect(res.headers['clear-site-data']).toBe('"cookies", "storage"');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-request-id']).toBe('logout-req-1');

    const row = await sessionRow(user.sessionId);
    expect(row.revoked_at).toBeInstanceOf(Date);
    expect(row.user_id).toBe(user.userId);

    const audits = await logoutAudits(user.sessionId);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ user_id: user.userId, request_id: 'logout-req-1', user_agent: 'e2e/1.0' });
    expect(JSON.stringify(audits[0])).not.toContain(user.token);
  });

  it('refuses the logged-out token at once on every protected route, and a second logout is 401', async () => {
    const user = await registerAndLogin(t);
    await t.http().get(`${API}/me`).set(bearer(user.token)).expect(200);
    await logout(user.token).expect(200);

    const me = await t.http().get(`${API}/me`).set(bearer(user.token));
    expect(me.status).toBe(401);
    expect(me.text).toBe(INVALID_TOKEN_BODY);
    expect(me.headers['www-authenticate']).toBe('Bearer error="invalid_token"');

    const again = await logout(user.token);
    expect(again.status).toBe(401);
    expect(again.text).toBe(INVALID_TOKEN_BODY);
    expect(await logoutAudits(user.sessionId)).toHaveLength(1);
  });

  it('ends only that session: another session of the same user stays valid', async () => {
    const user = await registerAndLogin(t);
    const second = await login(t, user.email, user.password);
    await logout(user.token).expect(200);
    await t.http().get(`${API}/me`).set(bearer(second.token)).expect(200);
  });

  it('with a body token of the same user, revokes that session and leaves the bearer alive', async () => {
    const user = await registerAndLogin(t);
    const other = await login(t, user.email, user.password);

    await logout(user.token).send({ token: other.token }).expect(200);

    expect((await sessionRow(other.sessionId)).revoked_at).toBeInstanceOf(Date);
    expect((await sessionRow(user.sessionId)).revoked_at).toBeNull();
    await t.http().get(`${API}/me`).set(bearer(other.token)).expect(401);
    await t.http().get(`${API}/me`).set(bearer(user.token)).expect(200);
    expect(await logoutAudits(other.sessionId)).toHaveLength(1);
  });

  it('with the bearer token itself in the body, revokes the bearer session', async () => {
    const user = await registerAndLogin(t);
    await logout(user.token).send({ token: user.token }).expect(200);
    await t.http().get(`${API}/me`).set(bearer(user.token)).expect(401);
  });

  it("refuses another user's token in the body with 401 and revokes nothing", async () => {
    const alice = await registerAndLogin(t);
    const bob = await registerAndLogin(t);

    const res = await logout(alice.token).send({ token: bob.token });
    expect(res.status).toBe(401);
    expect(res.text).toBe(INVALID_TOKEN_BODY);

    expect((await sessionRow(bob.sessionId)).revoked_at).toBeNull();
    expect((await sessionRow(alice.sessionId)).revoked_at).toBeNull();
    await t.http().get(`${API}/me`).set(bearer(bob.token)).expect(200);
    await t.http().get(`${API}/me`).set(bearer(alice.token)).expect(200);
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
    const res = await logout(user.token).send({ token });
    expect(res.status).toBe(401);
    expect(res.text).toBe(INVALID_TOKEN_BODY);
    expect((await sessionRow(user.sessionId)).revoked_at).toBeNull();
  });

  it('answers 401 to an already revoked body token', async () => {
    const user = await registerAndLogin(t);
    const other = await login(t, user.email, user.password);
    await logout(other.token).expect(200);
    await logout(user.token).send({ token: other.token }).expect(401);
  });

  it('answers 403 to an expired body token of the same user, and revokes nothing', async () => {
    const user = await registerAndLogin(t);
    const now = Math.floor(Date.now() / 1000);
    const expired = signToken(claimsFor(user, { iat: now - 1000, exp: now - 60 }));
    const res = await logout(user.token).send({ token: expired });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ success: false, message: MESSAGES.expired });
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect((await sessionRow(user.sessionId)).revoked_at).toBeNull();
  });

  it('answers 403 to an expired bearer token, on logout and on me', async () => {
    const user = await registerAndLogin(t);
    const now = Math.floor(Date.now() / 1000);
    const expired = signToken(claimsFor(user, { iat: now - 1000, exp: now - 60 }));
    for (const res of [await logout(expired), await t.http().get(`${API}/me`).set(bearer(expired))]) {
      expect(res.status).toBe(403);
      expect(res.text).toBe(JSON.stringify({ success: false, message: MESSAGES.expired }));
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
  });

  it('answers 401 without a token, with the same body as every other token failure', async () => {
    const res = await logout();
    expect(res.status).toBe(401);
    expect(res.text).toBe(INVALID_TOKEN_BODY);
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('accepts an empty JSON body and an empty object as "no token"', async () => {
    const a = await registerAndLogin(t);
    await logout(a.token).set('Content-Type', 'application/json').expect(200);
    const b = await registerAndLogin(t);
    await logout(b.token).send({}).expect(200);
  });

  it.each(['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'takes an empty body declared as %s as no body (fetch with body "", curl -d "")',
    async (contentType) => {
      const user = await registerAndLogin(t);
      await logout(user.token).set('Content-Type', contentType).send('').expect(200);
      await t.http().get(`${API}/me`).set(bearer(user.token)).expect(401);
    },
  );

  it('answers 400 with details to a body that is not JSON, not an object, or not application/json', async () => {
    const user = await registerAndLogin(t);
    const cases = [
      logout(user.token).set('Content-Type', 'application/json').send('{"token":'),
      logout(user.token).set('Content-Type', 'application/json').send('"a string"'),
      logout(user.token).set('Content-Type', 'text/plain').send('hello'),
      logout(user.token).set('Content-Type', 'application/x-www-form-urlencoded').send('token=abc'),
      logout(user.token).send({ token: user.token, extra: true }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.status).toBe(400);
      expect(res.body.success).toBe(false);
      expect(res.body.message).toBe(MESSAGES.invalidRequest);
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    expect((await sessionRow(user.sessionId)).revoked_at).toBeNull();
  });

  it('gives exactly one 200 and one audit row among 50 simultaneous logouts of one token', async () => {
    const user = await registerAndLogin(t);
    const results = await Promise.all(Array.from({ length: 50 }, () => logout(user.token)));
    const statuses = results.map((r) => r.status);

    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(49);
    for (const res of results.filter((r) => r.status === 401)) expect(res.text).toBe(INVALID_TOKEN_BODY);
    expect(await logoutAudits(user.sessionId)).toHaveLength(1);
  });
});
