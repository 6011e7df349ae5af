import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectInvalidToken, expectTooMany } from '../support/expectations.js';
import { lacks, TEST_REDIS_URL } from '../support/requirements.js';
import { startSilentRedis, type SilentRedis } from '../support/silent-redis.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startApp, type TestApp } from '../support/app.js';
import { LOGGED_OUT_BODY, MESSAGES } from '../support/messages.js';
import { INTROSPECT, INTROSPECTION_CLIENT, INTROSPECTION_CLIENTS } from '../support/introspection.js';
import { API, freshAddress, loginRequest, logoutRequest, meRequest, withOptions } from '../support/requests.js';
import { login, register, uniqueEmail } from '../support/users.js';

const REDIS_URL = TEST_REDIS_URL;

/**
 * How long a rate-limited request may take while Redis does not answer: the storage gives a
 * command a few hundred milliseconds. Past it supertest aborts and the test fails.
 */
const STALLED_BOUND_MS = 3000;

const logoutFrom = (t: TestApp, from: string, token?: string) => logoutRequest(t, token, { from, timeout: STALLED_BOUND_MS });
const loginFrom = (t: TestApp, from: string, user: { email: string; password: string }) =>
  loginRequest(t, user.email, user.password, { from, timeout: STALLED_BOUND_MS });

/** An app whose rate limits are counted in a silent Redis (see startSilentRedis), for the cases of one describe. */
function onSilentRedis(handshake: boolean): { redis: SilentRedis; t: TestApp } {
  const on = {} as { redis: SilentRedis; t: TestApp };
  beforeAll(async () => {
    on.redis = await startSilentRedis({ handshake });
    on.t = await startApp({
      REDIS_URL: on.redis.url,
      THROTTLE_LOGOUT_LIMIT: '2',
      THROTTLE_LOGIN_LIMIT: '2',
      TRUST_PROXY: '1',
    });
  });
  afterAll(async () => {
    await on.t?.close();
    await on.redis?.close();
  });
  return on;
}

// No real Redis needed: these run on every run.
describe.each([
  ['never writes a byte (stalled from the start)', false],
  ['completes the handshake, then answers nothing (stalled once connected)', true],
])('rate limit on a Redis that accepts connections and %s', (_, handshake) => {
  const on = onSilentRedis(handshake);

  it('answers login and logout within 3 s, and still limits them per instance', async () => {
    const { t } = on;
    const user = await register(t, undefined, undefined, { from: freshAddress(), timeout: STALLED_BOUND_MS });
    const from = freshAddress();

    const first = await loginFrom(t, from, user);
    expect(first.status).toBe(200);
    expect(first.body.message).toBe(MESSAGES.loggedIn);
    expect((await loginFrom(t, from, user)).status).toBe(200);
    expectTooMany(await loginFrom(t, from, user));

    const out = await logoutFrom(t, from, first.body.data.accessToken);
    expect(out.status).toBe(200);
    expect(out.text).toBe(LOGGED_OUT_BODY);
    expectInvalidToken(await logoutFrom(t, from, first.body.data.accessToken));
    expectTooMany(await logoutFrom(t, from));

    // Another address has its own budget.
    expectInvalidToken(await logoutFrom(t, freshAddress()));
  });
});

describe('rate limit on a Redis that accepts connections and never writes a byte', () => {
  const on = onSilentRedis(false);

  it('gives up on a connection whose handshake never completes, and connects again', async () => {
    // Otherwise the client would wait on its first connection forever, and never share counters
    // again should Redis come back behind the same address.
    const deadline = Date.now() + 10_000;
    while (on.redis.connections < 2 && Date.now() < deadline) await sleep(100);
    expect(on.redis.connections).toBeGreaterThanOrEqual(2);
  });
});

describe('rate limit on a Redis that completes the handshake, then answers nothing', () => {
  const on = onSilentRedis(true);

  it('sends a silent Redis one request every few seconds, not one per request', async () => {
    const { t, redis } = on;
    const evals = () => redis.unanswered.filter((name) => name === 'EVAL').length;
    expectInvalidToken(await logoutFrom(t, freshAddress()));
    expect(evals()).toBe(1); // the first rate-limited request reached it

    const before = evals();
    const started = Date.now();
    for (let i = 0; i < 10; i++) expectInvalidToken(await logoutFrom(t, freshAddress()));
    expect(evals() - before).toBeLessThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(STALLED_BOUND_MS);

    // And it does try again, a few seconds later.
    const afterBurst = evals();
    const deadline = Date.now() + 10_000;
    while (evals() === afterBurst && Date.now() < deadline) {
      await sleep(250);
      expectInvalidToken(await logoutFrom(t, freshAddress()));
    }
    expect(evals()).toBe(afterBurst + 1);
  });
});

describe.skipIf(lacks('redis', 'counters shared through Redis'))('rate limit shared through Redis (REDIS_URL, two instances)', () => {
  let a: TestApp;
  let b: TestApp;
  const env = {
    REDIS_URL,
    THROTTLE_LOGOUT_LIMIT: '3',
    THROTTLE_LOGOUT_TTL: '60',
    THROTTLE_LOGIN_LIMIT: '2',
    THROTTLE_LOGIN_TTL: '60',
    THROTTLE_FORGOT_RECIPIENT_LIMIT: '2',
    INTROSPECTION_CLIENTS,
    THROTTLE_INTROSPECTION_FAILURE_LIMIT: '2',
    TRUST_PROXY: '1',
  };

  beforeAll(async () => {
    // On the embedded database each app has its own, hence the tokens below come from B.
    // Counting is done by the rate-limit guard, before any token is looked at.
    a = await startApp(env);
    b = await startApp(env);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const logout = (t: TestApp, from: string, token?: string) => logoutRequest(t, token, { from });

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
    // Registration is counted per address in the shared Redis too: a fresh one, run after run.
    const registered = await register(b, undefined, undefined, { from: freshAddress() });
    const user = { ...registered, ...(await login(b, registered.email, registered.password)) };
    expectInvalidToken(await logout(b, from));
    expectInvalidToken(await logout(a, from));
    expectInvalidToken(await logout(a, from));

    expectTooMany(await logout(b, from, user.token));
    await meRequest(b, user.token).expect(200);

    // The budget of a fresh address is untouched: the same token logs out fine.
    const res = await logout(b, freshAddress(), user.token);
    expect(res.status).toBe(200);
    expect(res.text).toBe(LOGGED_OUT_BODY);
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
    const attempt = (t: TestApp) => loginRequest(t, email, 'wrong-password', { from });
    expect((await attempt(a)).status).toBe(401);
    expect((await attempt(b)).status).toBe(401);
    expectTooMany(await attempt(a));
    expectTooMany(await attempt(b));
  });

  it('shares the account routes\' counter per address, and forgot\'s per recipient', async () => {
    const from = freshAddress();
    const forgot = (t: TestApp, email: string, sender = freshAddress()) => withOptions(t.http().post(`${API}/password/forgot`), { from: sender }).send({ email });
    expect((await forgot(a, uniqueEmail(), from)).status).toBe(202);
    expect((await forgot(b, uniqueEmail(), from)).status).toBe(202);
    expectTooMany(await forgot(a, uniqueEmail(), from));

    const victim = uniqueEmail();
    expect((await forgot(a, victim)).status).toBe(202);
    expect((await forgot(b, victim)).status).toBe(202);
    expectTooMany(await forgot(a, victim), 900);
    expectTooMany(await forgot(b, victim), 900);
  });

  it('shares failed client authentications: each instance refuses the address once it sees the block, right credentials included', async () => {
    const from = freshAddress();
    const introspect = (t: TestApp, secret: string) =>
      withOptions(t.http().post(INTROSPECT), { from }).auth(INTROSPECTION_CLIENT.id, secret).type('form').send({ token: 'x' });
    const wrong = 'not-the-billing-secret-0123456789-abc';
    expect((await introspect(a, wrong)).status).toBe(401);
    expect((await introspect(b, wrong)).status).toBe(401);
    expect((await introspect(a, wrong)).status).toBe(429);
    expect((await introspect(b, wrong)).status).toBe(429);
    for (const t of [a, b]) {
      const res = await introspect(t, INTROSPECTION_CLIENT.secret);
      expect(res.status).toBe(429);
      expect(res.text).toBe('{"error":"temporarily_unavailable"}');
    }
  });
});

describe.skipIf(lacks('redis', 'a Redis that freezes once healthy'))('rate limit through a Redis that freezes once healthy (TEST_REDIS_URL behind a proxy, two instances)', () => {
  let proxy: TcpProxy;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    const target = new URL(REDIS_URL!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const env = {
      REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
      THROTTLE_LOGOUT_LIMIT: '3',
      THROTTLE_LOGIN_LIMIT: '2',
      TRUST_PROXY: '1',
    };
    // B last, as above: its tokens are the ones both apps accept.
    a = await startApp(env);
    b = await startApp(env);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await proxy?.close();
  });

  /** 3 logouts on A from a fresh address, then one on B: 429 only when they share a counter. */
  const sharing = async () => {
    const from = freshAddress();
    for (let i = 0; i < 3; i++) expectInvalidToken(await logoutFrom(a, from));
    const last = await logoutFrom(b, from);
    if (last.status === 429) expectTooMany(last);
    else expectInvalidToken(last);
    return last.status === 429;
  };

  it('answers within 3 s while Redis is frozen, counting per instance, and shares counters again once it answers', async () => {
    const user = await register(b, undefined, undefined, { from: freshAddress() });
    expect(await sharing()).toBe(true);

    proxy.stall(); // as `kill -STOP` on the Redis process: connections stay open, nothing answers
    const from = freshAddress();
    for (const t of [a, b]) {
      for (let i = 0; i < 3; i++) expectInvalidToken(await logoutFrom(t, from));
      expectTooMany(await logoutFrom(t, from));
    }
    const loggedIn = await loginFrom(b, freshAddress(), user);
    expect(loggedIn.status).toBe(200);
    const out = await logoutFrom(b, freshAddress(), loggedIn.body.data.accessToken);
    expect(out.status).toBe(200);
    expect(out.text).toBe(LOGGED_OUT_BODY);

    await proxy.restore();
    const deadline = Date.now() + 15_000;
    while (!(await sharing())) {
      expect(Date.now(), 'counters shared again within 15 s of Redis answering').toBeLessThan(deadline);
      await sleep(250);
    }

    // The counter calls that timed out while frozen are not replayed into Redis on reconnect:
    // `from` starts from zero there.
    expectInvalidToken(await logoutFrom(a, from));
    expectInvalidToken(await logoutFrom(b, from));
    expectInvalidToken(await logoutFrom(a, from));
    expectTooMany(await logoutFrom(b, from));
  });
});
