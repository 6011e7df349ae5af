import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Response } from 'supertest';
import { API, bearer, INVALID_TOKEN_BODY, MESSAGES, registerAndLogin, startApp, type TestApp } from './support/test-app.js';

const REDIS_URL = process.env.TEST_REDIS_URL;
if (!REDIS_URL) {
  console.log('redis-rate-limit.e2e-spec.ts skipped: needs TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to share counters through Redis');
}

const TOO_MANY_BODY = JSON.stringify({ success: false, message: MESSAGES.tooMany });

function expectTooMany(res: Response) {
  expect(res.status).toBe(429);
  expect(res.text).toBe(TOO_MANY_BODY);
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
}

function expectInvalidToken(res: Response) {
  expect(res.status).toBe(401);
  expect(res.text).toBe(INVALID_TOKEN_BODY);
}

/**
 * A client address nobody else has used within the window: counters live in a shared Redis,
 * keyed by client address, and are never flushed. 198.18.0.0/15 is reserved for benchmarks.
 */
const freshAddress = () => `198.${18 + randomInt(2)}.${randomInt(256)}.${1 + randomInt(254)}`;

(REDIS_URL ? describe : describe.skip)('rate limit shared through Redis (REDIS_URL, two instances)', () => {
  let a: TestApp;
  let b: TestApp;
  const env = {
    REDIS_URL,
    THROTTLE_LOGOUT_LIMIT: '3',
    THROTTLE_LOGOUT_TTL: '60',
    THROTTLE_LOGIN_LIMIT: '2',
    THROTTLE_LOGIN_TTL: '60',
    TRUST_PROXY: '1',
  };

  beforeAll(async () => {
    // One after the other, B last: @nestjs/passport registers each JwtStrategy in passport's
    // process-wide registry, so in this one process the last app's strategy (and its database)
    // authenticates for both. On the embedded database each app has its own, hence the tokens
    // below come from B. Counting is done by the rate-limit guard, before any token is looked at.
    a = await startApp(env);
    b = await startApp(env);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const logout = (t: TestApp, from: string, token?: string) => {
    const req = t.http().post(`${API}/logout`).set('X-Forwarded-For', from);
    return token === undefined ? req : req.set(bearer(token));
  };

  it('counts logouts on both instances against one counter: 2 on A + 1 on B, then the next on either is 429', async () => {
    const from = freshAddress();
    expectInvalidToken(await logout(a, from));
    expectInvalidToken(await logout(a, from));
    expectInvalidToken(await logout(b, from));

    expectTooMany(await logout(a, from));
    expectTooMany(await logout(b, from));

    // Another client address is not affected, on either instance.
    expectInvalidToken(await logout(a, freshAddress()));
    expectInvalidToken(await logout(b, freshAddress()));
  });

  it('blocks a valid token on B after A and B together used up the budget', async () => {
    const from = freshAddress();
    const user = await registerAndLogin(b);
    expectInvalidToken(await logout(b, from));
    expectInvalidToken(await logout(a, from));
    expectInvalidToken(await logout(a, from));

    expectTooMany(await logout(b, from, user.token));
    await b.http().get(`${API}/me`).set(bearer(user.token)).expect(200);

    // The budget of a fresh address is untouched: the same token logs out fine.
    const res = await logout(b, freshAddress(), user.token);
    expect(res.status).toBe(200);
    expect(res.text).toBe(JSON.stringify({ success: true, message: MESSAGES.loggedOut }));
  });

  it('counts simultaneous logouts on both instances exactly: 3 pass, the rest are 429', async () => {
    const from = freshAddress();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => logout(i % 2 ? a : b, from)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    for (const res of results.filter((r) => r.status === 429)) expectTooMany(res);
  });

  it('shares the login counter per address and email too', async () => {
    const from = freshAddress();
    const email = `redis-${from}-${Date.now()}@example.com`;
    const attempt = (t: TestApp) =>
      t.http().post(`${API}/login`).set('X-Forwarded-For', from).send({ email, password: 'wrong-password' });
    expect((await attempt(a)).status).toBe(401);
    expect((await attempt(b)).status).toBe(401);
    expectTooMany(await attempt(a));
    expectTooMany(await attempt(b));
  });
});
