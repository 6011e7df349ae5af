import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsServer } from '../../src/metrics/metrics.server.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { listen } from '../support/listen.js';
import { lacks } from '../support/requirements.js';
import { parseResponses, rawConnection, requestHead } from '../support/raw-http.js';
import { realPostgresUrl, startApp, type TestApp } from '../support/app.js';
import { envelope, MESSAGES } from '../support/messages.js';
import { API, endSessionRequest, loginRequest, logoutRequest, meRequest, passwordRequest, refreshRequest } from '../support/requests.js';
import { login, register, registerAndLoginWithRefresh, uniqueEmail } from '../support/users.js';
import { proxyInFront, type TcpProxy } from '../support/tcp-proxy.js';

import { parseSamples, type Sample, scrape, valueOf } from '../support/prometheus.js';
import { listening } from '../support/ports.js';
const UNAVAILABLE_BODY = envelope('Servicio no disponible');
const AVAILABLE = 'Servicio disponible';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

const metricsPortOf = (t: TestApp) => t.app.get(MetricsServer).port;

describe('metrics enabled (METRICS_ENABLED=true, on a port of their own)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startApp({
      METRICS_ENABLED: 'true',
      METRICS_PORT: '0',
      // Registration counts against it too, per address: the 5 users registered below fit.
      THROTTLE_LOGIN_LIMIT: '5',
      // A rotated refresh token presented again is reuse at once.
      REFRESH_REUSE_GRACE: '0',
    });
    port = metricsPortOf(t)!;
    expect(port).toBeGreaterThan(0);
  });
  afterAll(() => t?.close());

  /** How much a series grew since `before`: the other cases of this app count too. */
  const grown = (after: Sample[], before: Sample[], name: string, labels: Record<string, string> = {}) =>
    (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0);

  it('counts requests per route pattern and status, sessions, reuse and refusals, and reads the pool', async () => {
    const before = parseSamples((await scrape(port)).text);
    const user = await registerAndLoginWithRefresh(t);
    await meRequest(t, user.token).expect(200);
    await meRequest(t).expect(401);
    await t.http().get('/no/such/route').expect(404);

    const other = await login(t, user.email, user.password);
    await endSessionRequest(t, user.token, other.sessionId).expect(200);

    const rotated = await refreshRequest(t, user.refreshToken).expect(200);
    expect(rotated.body.data.refreshToken).not.toBe(user.refreshToken);
    await refreshRequest(t, user.refreshToken).expect(401);

    const second = await registerAndLoginWithRefresh(t);
    await logoutRequest(t, second.token).expect(200);

    const guessed = await register(t);
    for (let i = 0; i < 5; i++) await loginRequest(t, guessed.email, 'wrong-password').expect(401);
    await loginRequest(t, guessed.email, 'wrong-password').expect(429);

    const { status, contentType, text } = await scrape(port);
    expect(status).toBe(200);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const samples = parseSamples(text);

    const since = (name: string, labels: Record<string, string> = {}) => grown(samples, before, name, labels);
    const requests = (method: string, route: string, code: number) =>
      since('http_requests_total', { method, route, status: String(code) });
    expect(requests('GET', `${API}/me`, 200)).toBeGreaterThanOrEqual(1);
    expect(requests('GET', `${API}/me`, 401)).toBeGreaterThanOrEqual(1);
    expect(requests('GET', '(unmatched)', 404)).toBe(1);
    expect(requests('DELETE', `${API}/sessions/:id`, 200)).toBe(1);
    expect(requests('POST', `${API}/refresh`, 401)).toBe(1);
    expect(requests('POST', `${API}/logout`, 200)).toBe(1);
    expect(requests('POST', `${API}/login`, 429)).toBe(1);
    expect(since('http_request_duration_seconds_count', { method: 'GET', route: `${API}/me`, status: '200' })).toBeGreaterThanOrEqual(1);
    expect(since('http_request_duration_seconds_bucket', { route: `${API}/me`, le: '+Inf' })).toBeGreaterThanOrEqual(2);

    // Patterns only: no session id, no raw path, ever becomes a label.
    expect(text).not.toMatch(UUID);
    expect(text).not.toContain('/no/such/route');
    for (const s of samples.filter((s) => s.name.startsWith('http_request'))) {
      expect(s.labels.route === '(unmatched)' || s.labels.route!.startsWith('/'), s.labels.route).toBe(true);
    }

    expect(since('session_checks_total')).toBeGreaterThanOrEqual(3);
    expect(since('session_check_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'session_check_batch_size_sum')).toBe(valueOf(samples, 'session_checks_total'));
    expect(since('sessions_ended_total', { reason: 'logout' })).toBe(1);
    expect(since('sessions_ended_total', { reason: 'revoked_by_id' })).toBe(1);
    expect(since('sessions_ended_total', { reason: 'refresh_reuse' })).toBe(1);
    expect(since('refresh_reuse_detected_total')).toBe(1);
    expect(since('rate_limit_refusals_total', { limit: 'login' })).toBe(1);
    for (const state of ['total', 'idle', 'waiting']) {
      expect(valueOf(samples, 'db_pool_connections', { state }), state).toBeGreaterThanOrEqual(0);
    }
    expect(valueOf(samples, 'db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    // prom-client's defaults, on the same registry.
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(valueOf(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('counts logout scopes and password changes by reason', async () => {
    const start = parseSamples((await scrape(port)).text);
    const ended = (samples: Sample[], reason: string) => grown(samples, start, 'sessions_ended_total', { reason });
    const user = await registerAndLoginWithRefresh(t);
    await login(t, user.email, user.password);
    await logoutRequest(t, user.token).send({ scope: 'others' }).expect(200);
    const before = parseSamples((await scrape(port)).text);
    expect(ended(before, 'logout_others')).toBe(1);
    await login(t, user.email, user.password);
    await logoutRequest(t, user.token).send({ scope: 'all' }).expect(200);
    const after = parseSamples((await scrape(port)).text);
    expect(ended(after, 'logout_all')).toBe(2);

    const changer = await registerAndLoginWithRefresh(t);
    await login(t, changer.email, changer.password);
    await passwordRequest(t, changer.token, { currentPassword: changer.password, newPassword: 'another-password-456' }).expect(200);
    const changed = parseSamples((await scrape(port)).text);
    expect(ended(changed, 'password_changed')).toBe(1);
  });

  it('is not served on the public port', async () => {
    for (const path of ['/metrics', '/api/v1/metrics']) {
      const res = await t.http().get(path);
      expect(res.status, path).toBe(404);
      expect(res.text).toBe(envelope(MESSAGES.notFound));
    }
  });

  it('serves nothing but GET /metrics on the metrics port', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/metrics?x=1`)).status).toBe(200);
  });
});

describe('metrics disabled (the default)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.close());

  it('starts no metrics server, on METRICS_PORT or anywhere', async () => {
    expect(t.app.get(MetricsService).enabled).toBe(false);
    expect(await t.app.get(MetricsService).scrape()).toBeNull();
    expect(metricsPortOf(t)).toBeNull();
    expect(await listening(9464)).toBe(false);
    await t.http().get('/metrics').expect(404);
  });
});

describe('GET /health/live and /health/ready', () => {
  const env = { METRICS_ENABLED: 'true', METRICS_PORT: '0' };
  let t: TestApp;
  // The app a case shuts down: its own, so the shared one stays ready for the others in any order.
  let closing: TestApp | undefined;

  beforeAll(async () => {
    t = await startApp(env);
  });
  afterAll(() => Promise.all([t?.close(), closing?.close()]));

  it('answers 200 with the envelope, outside the /api/v1 prefix, and /health as before', async () => {
    const live = await t.http().get('/health/live').expect(200);
    expect(live.body).toEqual({ success: true, message: AVAILABLE });
    const ready = await t.http().get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ success: true, message: AVAILABLE, data: { status: 'ok', info: { database: { status: 'up' } } } });
    await t.http().get('/health').expect(200);
    await t.http().get('/api/v1/health/ready').expect(404);
  });

  it('while shutting down: ready answers 503 and live 200, on connections open before; the metrics port closes', async () => {
    const t = (closing = await startApp(env));
    const base = await listen(t);
    const publicPort = Number(new URL(base).port);
    const metricsPort = metricsPortOf(t)!;
    const user = await register(t, uniqueEmail());

    // A login cut in two keeps the close waiting; requests whose headers end after it began
    // are answered then (see test/process/shutdown.e2e-spec.ts).
    const busy = await rawConnection(publicPort);
    const body = JSON.stringify({ email: user.email, password: user.password });
    busy.write(requestHead('POST', `${API}/login`, Buffer.byteLength(body)) + body.slice(0, 10));
    const ready = await rawConnection(publicPort);
    ready.write('GET /health/ready HTTP/1.1\r\nHost: localhost\r\n');
    const live = await rawConnection(publicPort);
    live.write('GET /health/live HTTP/1.1\r\nHost: localhost\r\n');
    await sleep(100);

    const closed = t.close();
    await sleep(100);
    ready.write('\r\n');
    live.write('\r\n');
    await sleep(200);
    busy.write(body.slice(10));
    await Promise.all([ready.closed, live.closed, busy.closed, closed]);

    const [readyAnswer] = parseResponses(ready.received());
    expect(readyAnswer!.status).toBe(503);
    expect(readyAnswer!.body).toBe(UNAVAILABLE_BODY);
    expect(readyAnswer!.headers.connection).toBe('close');
    const [liveAnswer] = parseResponses(live.received());
    expect(liveAnswer!.status).toBe(200);
    expect(JSON.parse(liveAnswer!.body)).toEqual({ success: true, message: AVAILABLE });
    expect(parseResponses(busy.received())[0]!.status).toBe(200);
    expect(await listening(metricsPort)).toBe(false);
  });
});

describe.skipIf(lacks('postgres', 'readiness while the database is unreachable'))('GET /health/ready while the database is unreachable (TCP proxy in front of PostgreSQL)', () => {
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    const front = await proxyInFront(realPostgresUrl!, 5432);
    proxy = front.proxy;
    t = await startApp({ DATABASE_URL: front.url });
  });
  afterAll(async () => {
    await proxy?.restore();
    await t?.close();
    await proxy?.close();
  });

  it('answers 503 while it is down and 200 again once it is back; live stays 200', async () => {
    await t.http().get('/health/ready').expect(200);
    await proxy.cut('refuse');
    try {
      const ready = await t.http().get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.text).toBe(UNAVAILABLE_BODY);
      await t.http().get('/health/live').expect(200);
    } finally {
      await proxy.restore();
    }
    // The pool reconnects on its next query.
    for (let i = 0; i < 20; i++) {
      if ((await t.http().get('/health/ready')).status === 200) return;
      await sleep(250);
    }
    throw new Error('/health/ready did not recover');
  });
});

