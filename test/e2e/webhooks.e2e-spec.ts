import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/admin/admin.server.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { OutboxWorker } from '../../src/outbox/outbox.worker.js';
import { WebhookFanOut } from '../../src/webhooks/webhook-fan-out.worker.js';
import { WebhookRetentionJob } from '../../src/webhooks/webhook-retention.job.js';
import { startApp, type TestApp } from '../support/app.js';
import { logoutRequest } from '../support/requests.js';
import { login, register, registerAndLogin } from '../support/users.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// Session events delivered as Standard Webhooks to every configured endpoint, each delivery
// verified by the receiver with the standardwebhooks package; retries, 410, timeouts, the 24-hour
// limit, and the operator API. The fan-out and the outbox are driven by hand instead of waited for.

const ADMIN_TOKEN = 'operator-token-0123456789-abcdefghijkl';
const PATHS = ['/a', '/b', '/flaky', '/gone', '/slow'];

describe('webhooks', () => {
  let t: TestApp;
  let hooks: WebhookReceiver;
  let admin: () => ReturnType<typeof request>;
  const as = { Authorization: `Bearer ${ADMIN_TOKEN}` };

  /** Queues the new events, delivers what is due; twice, as a pass already under way may predate them. */
  const deliver = async () => {
    for (let i = 0; i < 2; i++) {
      await t.app.get(WebhookFanOut).run();
      await t.app.get(OutboxWorker).drain();
    }
  };
  /** The id of the event the end of this session wrote, as its webhook-id. */
  const webhookIdOf = async (sessionId: string) => {
    const [row] = await t.dataSource.query('SELECT id::text FROM session_events WHERE session_id = $1', [sessionId]);
    return `evt_${row.id}`;
  };
  const deliveryRow = async (webhookId: string, path: string) =>
    (
      await t.dataSource.query(
        `SELECT o.* FROM outbox o JOIN webhook_endpoints w ON w.id::text = o.payload->>'endpointId'
          WHERE o.kind = 'webhook' AND o.payload->>'eventId' = $1 AND w.url = $2`,
        [webhookId.slice('evt_'.length), hooks.url(path)],
      )
    )[0];
  const endpointOf = async (path: string) => {
    const res = await admin().get('/admin/v1/webhooks').set(as).expect(200);
    return res.body.data.endpoints.find((e: { url: string }) => e.url === hooks.url(path));
  };
  const loggedOut = async () => {
    const user = await registerAndLogin(t);
    await logoutRequest(t, user.token).expect(200);
    return { ...user, webhookId: await webhookIdOf(user.sessionId) };
  };

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    t = await startApp({ WEBHOOK_ENDPOINTS: hooks.endpoints(...PATHS), ADMIN_PORT: '0', ADMIN_TOKENS: ADMIN_TOKEN, METRICS_ENABLED: 'true', METRICS_PORT: '0' });
    const base = `http://127.0.0.1:${t.app.get(AdminServer).port}`;
    admin = () => request(base);
  });
  afterAll(async () => {
    await t?.close();
    await hooks?.close();
  });

  it('a logout: exactly one verified delivery to each endpoint, with the event as the contract gives it', async () => {
    const user = await registerAndLogin(t);
    const exp = JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString()).exp as number;
    await logoutRequest(t, user.token).expect(200);
    const id = await webhookIdOf(user.sessionId);
    await deliver();
    await deliver();
    const [received, ...more] = hooks.received('/a', id);
    expect(more).toStrictEqual([]);
    expect(received!.verified).toBe(true);
    expect(received!.status).toBe(204);
    expect(received!.headers['content-type']).toBe('application/json');
    expect(Math.abs(received!.timestamp - Date.now() / 1000)).toBeLessThan(30);
    const [session] = await t.dataSource.query('SELECT version FROM sessions WHERE id = $1', [user.sessionId]);
    expect(received!.payload).toStrictEqual({
      type: 'session.ended',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: { sessionId: user.sessionId, userId: user.userId, reason: 'logout', version: session.version, denyUntil: expect.any(String) },
    });
    expect(new Date(received!.payload.data.denyUntil).getTime()).toBeGreaterThanOrEqual(exp * 1000);
    expect(Math.abs(new Date(received!.payload.timestamp).getTime() - Date.now())).toBeLessThan(30_000);
    expect((await deliveryRow(id, '/a')).status).toBe('sent');
  });

  it('two endpoints each get every event, each signed with its own secret', async () => {
    const { webhookId } = await loggedOut();
    await deliver();
    const [a] = hooks.delivered('/a', webhookId);
    const [b] = hooks.delivered('/b', webhookId);
    expect([a?.verified, b?.verified]).toStrictEqual([true, true]);
    expect(a!.payload).toStrictEqual(b!.payload);
    expect(a!.headers['webhook-signature']).not.toBe(b!.headers['webhook-signature']);
  });

  it('logout scope all with 3 sessions: 3 events, each delivered once', async () => {
    const user = await register(t);
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push(await login(t, user.email, user.password));
    await logoutRequest(t, sessions[0]!.token).send({ scope: 'all' }).expect(200);
    await deliver();
    const ids = await Promise.all(sessions.map((s) => webhookIdOf(s.sessionId)));
    expect(new Set(ids).size).toBe(3);
    for (const [i, id] of ids.entries()) {
      const received = hooks.received('/a', id);
      expect(received).toHaveLength(1);
      expect(received[0]!.payload.data).toMatchObject({ sessionId: sessions[i]!.sessionId, userId: user.userId, reason: 'logout_all' });
    }
  });

  it('an endpoint answering 500 gets the event again once it recovers, under the same webhook-id', async () => {
    hooks.answer('/flaky', 500);
    try {
      const { webhookId } = await loggedOut();
      await deliver();
      expect(hooks.received('/flaky', webhookId).map((r) => r.status)).toStrictEqual([500]);
      const waiting = await deliveryRow(webhookId, '/flaky');
      expect(waiting).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HTTP 500' });
      // The first retry comes 5 s later, give or take the jitter.
      const wait = (new Date(waiting.next_attempt_at).getTime() - Date.now()) / 1000;
      expect(wait).toBeGreaterThan(2);
      expect(wait).toBeLessThan(7);

      hooks.answer('/flaky', 200);
      await t.dataSource.query('UPDATE outbox SET next_attempt_at = now() WHERE id = $1', [waiting.id]);
      await deliver();
      const attempts = hooks.received('/flaky', webhookId);
      expect(attempts.map((r) => [r.status, r.id, r.verified])).toStrictEqual([
        [500, webhookId, true],
        [200, webhookId, true],
      ]);
      expect(attempts[0]!.payload).toStrictEqual(attempts[1]!.payload);
      expect(await deliveryRow(webhookId, '/flaky')).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    } finally {
      hooks.answer('/flaky', 204);
    }
  });

  it('an endpoint that does not answer within 10 s: the attempt is given up and retried later', async () => {
    hooks.answer('/slow', 'hang');
    try {
      const { webhookId } = await loggedOut();
      const started = Date.now();
      await t.app.get(WebhookFanOut).run();
      await t.app.get(WebhookFanOut).run();
      await t.app.get(OutboxWorker).drain();
      await t.app.get(OutboxWorker).drain();
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(hooks.received('/slow', webhookId)).toHaveLength(1);
      expect(await deliveryRow(webhookId, '/slow')).toMatchObject({ status: 'pending', attempts: 1, last_error: 'No answer within 10 s' });
      expect(hooks.delivered('/a', webhookId)).toHaveLength(1);
    } finally {
      hooks.answer('/slow', 204);
    }
  }, 30_000);

  it('410: the endpoint is disabled, shows so to operators, gets nothing more until enabled again', async () => {
    hooks.answer('/gone', 410);
    const first = await loggedOut();
    await deliver();
    expect(hooks.received('/gone', first.webhookId).map((r) => r.status)).toStrictEqual([410]);
    expect(await deliveryRow(first.webhookId, '/gone')).toMatchObject({ status: 'dead', last_error: 'HTTP 410 Gone: the endpoint is disabled' });
    const disabled = await endpointOf('/gone');
    expect(disabled).toMatchObject({ disabledAt: expect.any(String), disabledReason: 'The endpoint answered 410 Gone', configured: true });
    expect(disabled.dead).toBeGreaterThanOrEqual(1);

    const second = await loggedOut();
    await deliver();
    expect(hooks.delivered('/a', second.webhookId)).toHaveLength(1);
    expect(hooks.received('/gone', second.webhookId)).toStrictEqual([]);
    expect(await deliveryRow(second.webhookId, '/gone')).toBeUndefined();

    hooks.answer('/gone', 204);
    await admin().post(`/admin/v1/webhooks/${disabled.id}/enable`).set(as).expect(200, { success: true, message: 'Webhook habilitado' });
    expect(await endpointOf('/gone')).toMatchObject({ disabledAt: null, disabledReason: null });
    const [audit] = await t.dataSource.query(`SELECT details FROM audit_events WHERE event = 'admin_action' AND details->>'endpointId' = $1`, [disabled.id]);
    expect(audit.details).toStrictEqual({
      action: 'enable_webhook',
      admin: createHash('sha256').update(ADMIN_TOKEN).digest('hex').slice(0, 16),
      endpointId: disabled.id,
      url: hooks.url('/gone'),
      wasDisabled: true,
    });
    const third = await loggedOut();
    await deliver();
    expect(hooks.delivered('/gone', third.webhookId)).toHaveLength(1);
    // What ended while it was disabled is not replayed.
    expect(hooks.received('/gone', second.webhookId)).toStrictEqual([]);

    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      const res = await admin().post(`/admin/v1/webhooks/${id}/enable`).set(as);
      expect(res.status).toBe(404);
    }
  });

  it('a delivery still failing 24 hours after its event is dead, and listed by the operator API', async () => {
    hooks.answer('/flaky', 503);
    try {
      const { webhookId } = await loggedOut();
      await deliver();
      const row = await deliveryRow(webhookId, '/flaky');
      expect(row).toMatchObject({ status: 'pending', attempts: 1 });
      await t.dataSource.query(`UPDATE outbox SET created_at = now() - interval '24 hours 1 minute', next_attempt_at = now() WHERE id = $1`, [row.id]);
      await deliver();
      expect(hooks.received('/flaky', webhookId).map((r) => r.status)).toStrictEqual([503, 503]);
      expect(await deliveryRow(webhookId, '/flaky')).toMatchObject({ status: 'dead', attempts: 2, last_error: 'Given up 86400 s after it was written; last attempt: HTTP 503' });

      const res = await admin().get('/admin/v1/webhooks/deliveries').query({ status: 'dead', limit: 100 }).set(as).expect(200);
      const listed = res.body.data.deliveries.find((d: { id: string }) => d.id === row.id);
      expect(listed).toStrictEqual({
        id: row.id,
        status: 'dead',
        eventId: webhookId.slice('evt_'.length),
        endpointId: expect.any(String),
        url: hooks.url('/flaky'),
        attempts: 2,
        lastError: 'Given up 86400 s after it was written; last attempt: HTTP 503',
        createdAt: expect.any(String),
        nextAttemptAt: null,
      });
      expect((await endpointOf('/flaky')).dead).toBeGreaterThanOrEqual(1);
    } finally {
      hooks.answer('/flaky', 204);
    }
  });

  it('the operator API pages deliveries, refuses a bad cursor or status, and needs its token', async () => {
    hooks.answer('/flaky', 500);
    try {
      for (let i = 0; i < 3; i++) await loggedOut();
      await deliver();
      const first = await admin().get('/admin/v1/webhooks/deliveries').query({ status: 'pending', limit: 2 }).set(as).expect(200);
      expect(first.body.data.deliveries).toHaveLength(2);
      expect(first.body.data.deliveries.every((d: { status: string; nextAttemptAt: string | null }) => d.status === 'pending' && d.nextAttemptAt)).toBe(true);
      const next = await admin().get('/admin/v1/webhooks/deliveries').query({ status: 'pending', limit: 2, cursor: first.body.data.nextCursor }).set(as).expect(200);
      const ids = [...first.body.data.deliveries, ...next.body.data.deliveries].map((d: { id: string }) => Number(d.id));
      expect(ids).toStrictEqual([...ids].sort((x, y) => y - x));
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      hooks.answer('/flaky', 204);
    }
    expect((await admin().get('/admin/v1/webhooks/deliveries').query({ cursor: 'nope' }).set(as)).status).toBe(400);
    expect((await admin().get('/admin/v1/webhooks/deliveries').query({ status: 'sent' }).set(as)).status).toBe(400);
    expect((await admin().get('/admin/v1/webhooks')).status).toBe(401);
    const docs = await admin().get('/docs-json').expect(200);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/admin/v1/webhooks', '/admin/v1/webhooks/deliveries', '/admin/v1/webhooks/{id}/enable']));
  });

  it('an endpoint removed from WEBHOOK_ENDPOINTS gets no new deliveries; its pending ones are given up once no instance has it', async () => {
    // As a previous configuration left it: one endpoint another instance still has (seen now),
    // one no instance has had for 10 minutes, each with a delivery pending.
    const { webhookId } = await loggedOut();
    const eventId = webhookId.slice('evt_'.length);
    const endpoints = await t.dataSource.query(
      `INSERT INTO webhook_endpoints (url, last_event_id, seen_at)
       VALUES ($1, 0, now()), ($2, 0, now() - interval '10 minutes') RETURNING id::text, url`,
      [`https://elsewhere-${eventId}.example/hook`, `https://removed-${eventId}.example/hook`],
    );
    const rows = [];
    for (const endpoint of endpoints) {
      const [row] = await t.dataSource.query(`INSERT INTO outbox (kind, payload) VALUES ('webhook', $1) RETURNING id::text`, [{ eventId, endpointId: endpoint.id }]);
      rows.push(row.id);
    }
    await deliver();
    const states = await t.dataSource.query('SELECT id::text, status, last_error FROM outbox WHERE id = ANY($1) ORDER BY id', [rows]);
    expect(states).toStrictEqual([
      { id: rows[0], status: 'pending', last_error: 'The endpoint is not in WEBHOOK_ENDPOINTS on this instance; left to one that has it' },
      { id: rows[1], status: 'dead', last_error: 'The endpoint was removed from WEBHOOK_ENDPOINTS' },
    ]);
    // Neither gets the events that came since: only configured endpoints are fanned out to.
    await loggedOut();
    await deliver();
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM outbox WHERE kind = 'webhook' AND payload->>'endpointId' = ANY($1)`, [
      endpoints.map((e: { id: string }) => e.id),
    ]);
    expect(n).toBe(2);
    const listed = (await admin().get('/admin/v1/webhooks').set(as).expect(200)).body.data.endpoints;
    expect(listed.find((e: { url: string }) => e.url === endpoints[1].url)).toMatchObject({ configured: false, pending: 0, dead: 1 });
    expect(listed.find((e: { url: string }) => e.url === hooks.url('/a'))).toMatchObject({ configured: true, disabledAt: null });
  });

  it('retention: settled deliveries and spent events older than WEBHOOK_RETENTION_DAYS go; the rest stay', async () => {
    const old = await loggedOut();
    const recent = await loggedOut();
    await deliver();
    const eventId = (w: string) => w.slice('evt_'.length);
    await t.dataSource.query(`UPDATE outbox SET created_at = now() - interval '31 days' WHERE kind = 'webhook' AND payload->>'eventId' = $1`, [eventId(old.webhookId)]);
    await t.dataSource.query(`UPDATE session_events SET created_at = now() - interval '31 days', deny_until = now() - interval '30 days' WHERE id = $1`, [eventId(old.webhookId)]);
    const purged = await t.app.get(WebhookRetentionJob).purge();
    expect(purged!.deliveries).toBeGreaterThanOrEqual(PATHS.length);
    expect(purged!.events).toBeGreaterThanOrEqual(1);
    const left = async (w: string) => (await t.dataSource.query(`SELECT count(*)::int AS n FROM outbox WHERE kind = 'webhook' AND payload->>'eventId' = $1`, [eventId(w)]))[0].n;
    expect(await left(old.webhookId)).toBe(0);
    expect(await left(recent.webhookId)).toBe(PATHS.length);
    expect(await t.dataSource.query('SELECT id FROM session_events WHERE id = $1', [eventId(old.webhookId)])).toStrictEqual([]);
    expect(await t.dataSource.query('SELECT id FROM session_events WHERE id = $1', [eventId(recent.webhookId)])).toHaveLength(1);
  });

  it('counts deliveries by outcome, and the deliveries pending and dead', async () => {
    const scrape = async () => {
      const text = (await t.app.get(MetricsService).scrape())!.body;
      // A series not counted yet is not in the text: 0.
      return (series: string) => Number(text.match(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm'))?.[1] ?? 0);
    };
    const delivered = 'webhook_deliveries_total{outcome="delivered"}';
    const retry = 'webhook_deliveries_total{outcome="retry"}';
    const dead = 'webhook_deliveries_total{outcome="dead"}';
    const before = await scrape();
    hooks.answer('/flaky', 500);
    try {
      const { webhookId } = await loggedOut();
      await deliver();
      const pending = await scrape();
      expect(hooks.delivered('/a', webhookId)).toHaveLength(1);
      expect(pending(delivered) - before(delivered)).toBeGreaterThanOrEqual(1);
      expect(pending(retry) - before(retry)).toBeGreaterThanOrEqual(1);
      expect(pending('webhook_outbox_deliveries{status="pending"}')).toBeGreaterThanOrEqual(1);

      // Past the 24 hours, the next failure gives it up.
      const row = await deliveryRow(webhookId, '/flaky');
      await t.dataSource.query(`UPDATE outbox SET created_at = now() - interval '24 hours 1 minute', next_attempt_at = now() WHERE id = $1`, [row.id]);
      await deliver();
      expect(await deliveryRow(webhookId, '/flaky')).toMatchObject({ status: 'dead' });
      const after = await scrape();
      expect(after(dead) - pending(dead)).toBeGreaterThanOrEqual(1);
      expect(after('webhook_outbox_deliveries{status="dead"}')).toBeGreaterThanOrEqual(1);
    } finally {
      hooks.answer('/flaky', 204);
    }
  });

  it('no delivery failed verification', async () => {
    const { webhookId } = await loggedOut();
    await deliver();
    for (const path of PATHS) {
      const own = hooks.received(path, webhookId);
      expect(own.length, path).toBeGreaterThanOrEqual(1);
      expect(own.filter((r) => !r.verified), path).toStrictEqual([]);
    }
    // Nor any of what the other cases of this file had delivered.
    for (const path of PATHS) expect(hooks.received(path).filter((r) => !r.verified)).toStrictEqual([]);
  });
});


describe('webhooks while the server stops', () => {
  it('a delivery waiting on a receiver that does not answer is cut short, so the stop is not held up', async () => {
    const hooks = await startWebhookReceiver();
    hooks.answer('/slow', 'hang');
    const t = await startApp({ WEBHOOK_ENDPOINTS: hooks.endpoints('/slow'), METRICS_ENABLED: 'true', METRICS_PORT: '0' });
    try {
      const user = await registerAndLogin(t);
      await logoutRequest(t, user.token).expect(200);
      await t.app.get(WebhookFanOut).run();
      await t.app.get(WebhookFanOut).run();
      const draining = t.app.get(OutboxWorker).drain();
      for (let i = 0; i < 100 && hooks.received('/slow').length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(hooks.received('/slow')).toHaveLength(1);
      const metrics = t.app.get(MetricsService);
      const started = Date.now();
      await t.close();
      await draining;
      expect(Date.now() - started).toBeLessThan(3000);
      // The attempt was recorded as failed before the pool closed: it is retried (by another instance, or after a restart).
      // (On a shared database, deliveries left pending by earlier runs are retried here too.)
      const retries = (await metrics.scrape())!.body.match(/^webhook_deliveries_total\{outcome="retry"\} (\d+)$/m)?.[1];
      expect(Number(retries)).toBeGreaterThanOrEqual(1);
    } finally {
      await hooks.close();
    }
  });
});
