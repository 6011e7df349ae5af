import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRefreshToken } from '../../src/sessions/refresh-token.js';
import { expectInvalidToken, expectTooMany } from '../support/expectations.js';
import { logoutAudits, revokedAt, sessionRow, sessionRows } from '../support/rows.js';
import { startApp, type TestApp } from '../support/app.js';
import { BAD_CREDENTIALS_BODY, LOGGED_OUT_BODY, MESSAGES } from '../support/messages.js';
import { loginRequest, logoutRequest, meRequest, refreshRequest } from '../support/requests.js';
import { login, register, registerAndLogin, registerAndLoginWithRefresh, uniqueEmail } from '../support/users.js';

/** Each test gets its own app, hence its own in-memory counters. */
let apps: TestApp[] = [];
async function appWith(overrides: Record<string, string | undefined>): Promise<TestApp> {
  const t = await startApp(overrides);
  apps.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(apps.map((t) => t.close()));
  apps = [];
});

const LOGOUT_LIMITS = { THROTTLE_LOGOUT_LIMIT: '3', THROTTLE_LOGOUT_TTL: '60' };
const LOGIN_LIMITS = { THROTTLE_LOGIN_LIMIT: '2', THROTTLE_LOGIN_TTL: '60' };

describe('rate limit on POST /api/v1/auth/logout (THROTTLE_LOGOUT_LIMIT=3, TTL=60)', () => {
  const logout = (t: TestApp, token?: string, from?: string) => logoutRequest(t, token, { from });
  const isActive = async (t: TestApp, sessionId: string) => (await revokedAt(t, sessionId)) === null;

  it('answers the 4th logout from one address with 429, exact body and a numeric Retry-After', async () => {
    const t = await appWith(LOGOUT_LIMITS);
    const users = [];
    for (let i = 0; i < 4; i++) users.push(await registerAndLogin(t));

    for (let i = 0; i < 3; i++) {
      const res = await logout(t, users[i]!.token);
      expect(res.status).toBe(200);
      expect(res.text).toBe(LOGGED_OUT_BODY);
    }
    const blocked = await logout(t, users[3]!.token);
    expectTooMany(blocked);
    // The blocked logout did nothing: the session is still alive.
    expect(await isActive(t, users[3]!.sessionId)).toBe(true);
    await meRequest(t, users[3]!.token).expect(200);

    // And it stays blocked for the rest of the window.
    expectTooMany(await logout(t, users[3]!.token));
    expectTooMany(await logout(t));
  });

  it('counts requests before the token is looked at: no token and garbage tokens count, then a valid token gets 429', async () => {
    const t = await appWith(LOGOUT_LIMITS);
    const user = await registerAndLogin(t);

    expectInvalidToken(await logout(t));
    expectInvalidToken(await logout(t, 'garbage'));
    expectInvalidToken(await logout(t, 'eyJhbGciOiJIUzI1NiJ9.e30.AAAA'));

    const res = await logout(t, user.token);
    expectTooMany(res);
    expect(await isActive(t, user.sessionId)).toBe(true);
    expect(await logoutAudits(t, user.sessionId)).toHaveLength(0);
  });

  it('ignores X-Forwarded-For when TRUST_PROXY is unset: a new forwarded address does not reset the count', async () => {
    const t = await appWith({ ...LOGOUT_LIMITS, TRUST_PROXY: undefined });
    expectInvalidToken(await logout(t, undefined, '10.1.0.1'));
    expectInvalidToken(await logout(t, undefined, '10.1.0.2'));
    expectInvalidToken(await logout(t, undefined, '10.1.0.3'));
    expectTooMany(await logout(t, undefined, '10.1.0.4'));
    expectTooMany(await logout(t, undefined, '10.1.0.5, 10.1.0.6'));
    expectTooMany(await logout(t));
  });

  it.each([
    ['1', '1'],
    ['127.0.0.1', '127.0.0.1'],
  ])('with TRUST_PROXY=%s, distinct X-Forwarded-For addresses have separate counters', async (_, trustProxy) => {
    const t = await appWith({ ...LOGOUT_LIMITS, TRUST_PROXY: trustProxy });
    const user = await registerAndLogin(t);

    for (let i = 0; i < 3; i++) expectInvalidToken(await logout(t, undefined, '10.2.0.1'));
    expectTooMany(await logout(t, undefined, '10.2.0.1'));
    expectTooMany(await logout(t, user.token, '10.2.0.1'));

    // Another client behind the same proxy is not blocked by the first one.
    for (let i = 0; i < 3; i++) expectInvalidToken(await logout(t, undefined, '10.2.0.2'));
    expectTooMany(await logout(t, undefined, '10.2.0.2'));

    const third = await logout(t, user.token, '10.2.0.3');
    expect(third.status).toBe(200);
    expect(third.text).toBe(LOGGED_OUT_BODY);
  });

  it('with TRUST_PROXY=1, only the address the proxy saw counts: spoofed entries before it do not split the counter', async () => {
    const t = await appWith({ ...LOGOUT_LIMITS, TRUST_PROXY: '1' });
    expectInvalidToken(await logout(t, undefined, '1.1.1.1, 10.3.0.1'));
    expectInvalidToken(await logout(t, undefined, '2.2.2.2, 10.3.0.1'));
    expectInvalidToken(await logout(t, undefined, '10.3.0.1'));
    expectTooMany(await logout(t, undefined, '3.3.3.3, 10.3.0.1'));
  });

  it('keeps logout working and limited per instance when REDIS_URL points at a Redis that is down', async () => {
    // Port 1 on loopback: nothing listens, so every Redis call fails at once.
    const t = await appWith({ ...LOGOUT_LIMITS, REDIS_URL: 'redis://127.0.0.1:1' });
    const users = [];
    for (let i = 0; i < 4; i++) users.push(await registerAndLogin(t));

    for (let i = 0; i < 3; i++) expect((await logout(t, users[i]!.token)).status).toBe(200);
    expectTooMany(await logout(t, users[3]!.token));
    expect(await isActive(t, users[3]!.sessionId)).toBe(true);
  });

  it('does not spend the login budget: login still works when logout is blocked', async () => {
    const t = await appWith({ ...LOGOUT_LIMITS, THROTTLE_LOGIN_LIMIT: '1000' });
    const user = await register(t);
    for (let i = 0; i < 3; i++) expectInvalidToken(await logout(t));
    expectTooMany(await logout(t));
    await login(t, user.email, user.password);
  });
});

describe('rate limit on POST /api/v1/auth/login (THROTTLE_LOGIN_LIMIT=2, TTL=60)', () => {
  const attempt = (t: TestApp, email: string, password: string, from?: string) => loginRequest(t, email, password, { from });

  it('answers the 3rd attempt for one email from one address with 429, even with the right password', async () => {
    const t = await appWith(LOGIN_LIMITS);
    const user = await register(t);

    for (let i = 0; i < 2; i++) {
      const res = await attempt(t, user.email, 'wrong-password');
      expect(res.status).toBe(401);
      expect(res.text).toBe(BAD_CREDENTIALS_BODY);
    }
    const blocked = await attempt(t, user.email, user.password);
    expectTooMany(blocked);
    expect(blocked.body.data).toBeUndefined();

    // No session was opened by the blocked attempt.
    expect(await sessionRows(t, user.userId)).toHaveLength(0);
  });

  it('counts successful logins too', async () => {
    const t = await appWith(LOGIN_LIMITS);
    const user = await register(t);
    await attempt(t, user.email, user.password).expect(200);
    await attempt(t, user.email, user.password).expect(200);
    expectTooMany(await attempt(t, user.email, user.password));
  });

  it('counts per address AND email: another email from the same address still gets through', async () => {
    const t = await appWith(LOGIN_LIMITS);
    const victim = await register(t);
    const other = await register(t);

    await attempt(t, victim.email, 'wrong-password').expect(401);
    await attempt(t, victim.email, 'wrong-password').expect(401);
    expectTooMany(await attempt(t, victim.email, victim.password));

    const res = await attempt(t, other.email, other.password);
    expect(res.status).toBe(200);
    expect(res.body.message).toBe(MESSAGES.loggedIn);

    // An unknown email from the same address is its own counter too (401, not 429).
    const unknown = await attempt(t, uniqueEmail(), 'whatever-123');
    expect(unknown.status).toBe(401);
    expect(unknown.text).toBe(BAD_CREDENTIALS_BODY);
  });

  it('does not let the case of the email split the counter', async () => {
    const t = await appWith(LOGIN_LIMITS);
    const user = await register(t);
    const upper = user.email.toUpperCase();
    const mixed = user.email.charAt(0).toUpperCase() + user.email.slice(1);

    await attempt(t, upper, 'wrong-password').expect(401);
    await attempt(t, user.email, 'wrong-password').expect(401);
    expectTooMany(await attempt(t, mixed, user.password));
    expectTooMany(await attempt(t, user.email, user.password));
  });

  it('ignores X-Forwarded-For when TRUST_PROXY is unset', async () => {
    const t = await appWith({ ...LOGIN_LIMITS, TRUST_PROXY: undefined });
    const user = await register(t);
    await attempt(t, user.email, 'wrong-password', '10.4.0.1').expect(401);
    await attempt(t, user.email, 'wrong-password', '10.4.0.2').expect(401);
    expectTooMany(await attempt(t, user.email, user.password, '10.4.0.3'));
  });

  it('with TRUST_PROXY=1, counts per forwarded address', async () => {
    const t = await appWith({ ...LOGIN_LIMITS, TRUST_PROXY: '1' });
    const user = await register(t);
    await attempt(t, user.email, 'wrong-password', '10.5.0.1').expect(401);
    await attempt(t, user.email, 'wrong-password', '10.5.0.1').expect(401);
    expectTooMany(await attempt(t, user.email, user.password, '10.5.0.1'));
    await attempt(t, user.email, user.password, '10.5.0.2').expect(200);
  });
});

describe('rate limit on POST /api/v1/auth/refresh (THROTTLE_REFRESH_LIMIT=3, TTL=60), per address and session', () => {
  const REFRESH_LIMITS = { THROTTLE_REFRESH_LIMIT: '3', THROTTLE_REFRESH_TTL: '60', TRUST_PROXY: '1' };
  /** A token of the right shape naming the session at a late generation, with a secret never issued. */
  const madeUp = (sessionId: string) =>
    encodeRefreshToken({ sessionId, generation: 4096, secret: randomBytes(32) });

  it('made-up tokens naming a real session are refused, then 429: the chain is not walked without bound', async () => {
    const t = await appWith(REFRESH_LIMITS);
    const user = await registerAndLoginWithRefresh(t);
    const other = await registerAndLoginWithRefresh(t);

    for (let i = 0; i < 3; i++) expectInvalidToken(await refreshRequest(t, madeUp(user.sessionId), { from: '10.6.0.1' }));
    expectTooMany(await refreshRequest(t, madeUp(user.sessionId), { from: '10.6.0.1' }));
    // The session's own token is refused too from that address, for the window: nothing rotated.
    expectTooMany(await refreshRequest(t, user.refreshToken, { from: '10.6.0.1' }));
    expect((await sessionRow(t, user.sessionId)).refresh_generation).toBe(0);

    // Another session from the same address, and the same session from another address, keep their own count.
    await refreshRequest(t, other.refreshToken, { from: '10.6.0.1' }).expect(200);
    await refreshRequest(t, user.refreshToken, { from: '10.6.0.2' }).expect(200);
  });

  it('tokens that name no session share one counter per address', async () => {
    const t = await appWith(REFRESH_LIMITS);
    const user = await registerAndLoginWithRefresh(t);
    for (let i = 0; i < 3; i++) expectInvalidToken(await refreshRequest(t, 'garbage', { from: '10.7.0.1' }));
    expectTooMany(await refreshRequest(t, undefined, { from: '10.7.0.1' }));
    await refreshRequest(t, user.refreshToken, { from: '10.7.0.1' }).expect(200);
  });
});

describe('routes without a rate limit', () => {
  it('lets me through many times, with the logout and login limits set low', async () => {
    const t = await appWith({ ...LOGOUT_LIMITS, ...LOGIN_LIMITS });
    const user = await registerAndLogin(t);
    const results = await Promise.all(
      Array.from({ length: 30 }, () => meRequest(t, user.token)),
    );
    for (const res of results) {
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ id: user.userId, email: user.email, sessionId: user.sessionId, amr: ['pwd'], authenticatedAt: expect.any(String) });
      expect(res.headers['retry-after']).toBeUndefined();
    }
    // Unauthenticated me is 401 every time, never 429.
    for (let i = 0; i < 6; i++) expectInvalidToken(await meRequest(t));
  });
});
