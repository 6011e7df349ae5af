import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsServer } from '../../src/metrics/metrics.server.js';
import { startApp, type TestApp } from '../support/app.js';
import { expectTooMany } from '../support/expectations.js';
import { INTROSPECT, INTROSPECTION_CLIENT, INTROSPECTION_CLIENTS } from '../support/introspection.js';
import { envelope } from '../support/messages.js';
import { parseSamples, scrape, valueOf } from '../support/prometheus.js';
import { freshAddress, withOptions } from '../support/requests.js';
import { lacks, TEST_REDIS_URL } from '../support/requirements.js';
import { login, register } from '../support/users.js';

// Failed authentications of the other services' clients (introspection, the event feed and
// stream) are limited per client address: past the limit, 429 with Retry-After for the rest of
// the window, right credentials included, on both storages. Counted in metrics; the log line is
// checked on the server process (test/process/server-process.e2e-spec.ts).

const FAILURES = 3;
const LIMITS = {
  INTROSPECTION_CLIENTS,
  THROTTLE_INTROSPECTION_FAILURE_LIMIT: String(FAILURES),
  THROTTLE_INTROSPECTION_FAILURE_TTL: '60',
  TRUST_PROXY: '1',
  METRICS_ENABLED: 'true',
  METRICS_PORT: '0',
};
const WRONG = { id: INTROSPECTION_CLIENT.id, secret: 'not-the-billing-secret-0123456789-abc' };
const INVALID_CLIENT = '{"error":"invalid_client"}';
const CLIENT_401 = envelope('Credenciales de cliente inválidas');
const FEED = '/api/v1/events';

/** RFC 6749's word for "not now, try later" (as a 503 would be): the OAuth body of this route's 429. */
function expectOAuthTooMany(res: { status: number; text: string; headers: Record<string, string> }) {
  expect(res.status).toBe(429);
  expect(res.text).toBe('{"error":"temporarily_unavailable"}');
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['www-authenticate']).toBeUndefined();
}

const STORAGES = [
  ['in memory', {}, false],
  ['in Redis (REDIS_URL)', { REDIS_URL: TEST_REDIS_URL }, true],
] as const;

for (const [storage, extra, needsRedis] of STORAGES) describe.skipIf(needsRedis && lacks('redis', `client failures ${storage}`))(`failed client authentications, counted ${storage}`, () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startApp({ ...LIMITS, ...extra });
    const user = await register(t, undefined, undefined, { from: freshAddress() });
    token = (await login(t, user.email, user.password)).token;
  });
  afterAll(() => t?.close());

  const introspect = (from: string, client: { id: string; secret: string }) =>
    withOptions(t.http().post(INTROSPECT), { from }).auth(client.id, client.secret).type('form').send({ token });
  const feed = (from: string, client: { id: string; secret: string }) => withOptions(t.http().get(FEED), { from }).auth(client.id, client.secret);

  it(`answers the failure past ${FAILURES} from one address 429 temporarily_unavailable, and the right credentials too, for the window`, async () => {
    const from = freshAddress();
    for (const client of [WRONG, { id: 'nobody', secret: INTROSPECTION_CLIENT.secret }, WRONG]) {
      const res = await introspect(from, client);
      expect(res.status).toBe(401);
      expect(res.text).toBe(INVALID_CLIENT);
    }
    expectOAuthTooMany(await introspect(from, WRONG));
    expectOAuthTooMany(await introspect(from, INTROSPECTION_CLIENT));
    // Another address is not affected.
    const other = await introspect(freshAddress(), INTROSPECTION_CLIENT);
    expect(other.status).toBe(200);
    expect(other.body.active).toBe(true);
  });

  it('counts a failure without credentials or with a malformed header like any other', async () => {
    const from = freshAddress();
    await withOptions(t.http().post(INTROSPECT), { from }).type('form').send({ token }).expect(401);
    await withOptions(t.http().post(INTROSPECT), { from }).set('Authorization', 'Basic !!!').type('form').send({ token }).expect(401);
    await withOptions(t.http().post(INTROSPECT), { from }).set('Authorization', `Bearer ${token}`).type('form').send({ token }).expect(401);
    expectOAuthTooMany(await withOptions(t.http().post(INTROSPECT), { from }).type('form').send({ token }));
  });

  it('shares the count with the event feed, which answers its 429 in the envelope', async () => {
    const from = freshAddress();
    await introspect(from, WRONG).expect(401);
    await introspect(from, WRONG).expect(401);
    const failed = await feed(from, WRONG);
    expect(failed.status).toBe(401);
    expect(failed.text).toBe(CLIENT_401);
    expectTooMany(await feed(from, WRONG));
    expectTooMany(await feed(from, INTROSPECTION_CLIENT));
    expectOAuthTooMany(await introspect(from, INTROSPECTION_CLIENT));
    await feed(freshAddress(), INTROSPECTION_CLIENT).expect(200);
  });

  it('does not count successes: after many, an address still has its whole allowance of failures', async () => {
    const from = freshAddress();
    for (let i = 0; i < 10; i++) expect((await introspect(from, INTROSPECTION_CLIENT)).body.active).toBe(true);
    for (let i = 0; i < FAILURES; i++) await introspect(from, WRONG).expect(401);
    expectOAuthTooMany(await introspect(from, WRONG));
  });

  it('counts failures in introspection_client_failures_total, and the 429s in rate_limit_refusals_total', async () => {
    const port = t.app.get(MetricsServer).port!;
    const read = async () => {
      const samples = parseSamples((await scrape(port)).text);
      return {
        failures: valueOf(samples, 'introspection_client_failures_total') ?? 0,
        refusals: valueOf(samples, 'rate_limit_refusals_total', { limit: 'introspection_client' }) ?? 0,
      };
    };
    const before = await read();
    const from = freshAddress();
    for (let i = 0; i < FAILURES; i++) await introspect(from, WRONG).expect(401);
    await introspect(from, WRONG).expect(429);
    await introspect(from, WRONG).expect(429);
    await introspect(from, INTROSPECTION_CLIENT).expect(429);
    await introspect(freshAddress(), INTROSPECTION_CLIENT).expect(200);
    expect(await read()).toStrictEqual({ failures: before.failures + FAILURES + 2, refusals: before.refusals + 3 });
  });
});
