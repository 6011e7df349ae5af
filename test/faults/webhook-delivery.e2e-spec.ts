import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxWorker } from '../../src/outbox/outbox.worker.js';
import { WebhookFanOut } from '../../src/webhooks/webhook-fan-out.worker.js';
import { realPostgresUrl, startApp, type TestApp } from '../support/app.js';
import { API, logoutRequest } from '../support/requests.js';
import { lacks } from '../support/requirements.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import { login, register, registerAndLogin } from '../support/users.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// A receiver that never answers beside a healthy one and mail, on either database: it holds only
// its own deliveries. Then webhooks under several instances on one PostgreSQL: both fan out and
// deliver at once, and each event reaches each endpoint exactly once, whichever instance ended
// the session.

/** Polls `check` every 50 ms until it holds; false when `ms` passed first. */
async function within(ms: number, check: () => boolean): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (check()) return true;
  return check();
}

describe('an endpoint that never answers, beside a healthy one and a reset mail', () => {
  it('the healthy endpoint gets every event and the mail leaves within seconds, while the silent one hangs', async () => {
    const hooks = await startWebhookReceiver();
    hooks.answer('/silent', 'hang');
    const smtp = await startSmtpSink();
    const t = await startApp({ WEBHOOK_ENDPOINTS: hooks.endpoints('/silent', '/healthy'), SMTP_URL: smtp.url });
    try {
      const user = await registerAndLogin(t);
      // 100 more sessions, by hand (100 logins would be 100 password hashes), ended with the first.
      await t.dataSource.query(`INSERT INTO sessions (user_id, expires_at) SELECT $1, now() + interval '1 hour' FROM generate_series(1, 100)`, [user.userId]);
      await logoutRequest(t, user.token).send({ scope: 'all' }).expect(200);
      // The server's own loops: the silent endpoint's deliveries are under way and hang.
      expect(await within(5_000, () => hooks.received('/silent').length > 0)).toBe(true);
      await t.http().post(`${API}/password/forgot`).send({ email: user.email }).expect(202);
      const asked = Date.now();
      await smtp.next(user.email, { subject: 'Restablecer la contraseña', timeoutMs: 5_000 });
      expect(Date.now() - asked).toBeLessThan(5_000);
      expect(await within(5_000, () => hooks.delivered('/healthy').length === 101)).toBe(true);
      expect(hooks.received('/silent').filter((r) => r.status !== null)).toStrictEqual([]);
    } finally {
      await t.close();
      await hooks.close();
      await smtp.close();
    }
  }, 60_000);
});

const run = describe.skipIf(lacks('postgres', 'several instances delivering webhooks from one database'));

run('two instances on one database and two webhook endpoints', () => {
  let hooks: WebhookReceiver;
  let a: TestApp;
  let b: TestApp;
  let before: string;

  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    // An event from before the endpoints exist: a new endpoint starts after it, no replay.
    const plain = await startApp({ DATABASE_URL: realPostgresUrl });
    const earlier = await registerAndLogin(plain);
    await logoutRequest(plain, earlier.token).expect(200);
    before = `evt_${(await plain.dataSource.query('SELECT id::text FROM session_events WHERE session_id = $1', [earlier.sessionId]))[0].id}`;
    await plain.close();
    const env = { DATABASE_URL: realPostgresUrl, WEBHOOK_ENDPOINTS: hooks.endpoints('/one', '/two') };
    a = await startApp(env);
    b = await startApp(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await hooks?.close();
  });

  it('deliver each event once per endpoint, both instances fanning out and delivering at the same time', async () => {
    // The endpoints held as by a third instance mid fan-out, while the sessions end: the two
    // instances' passes skip them meanwhile, then all race for the same events at once.
    const holder = a.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query('SELECT id FROM webhook_endpoints WHERE url = ANY($1) FOR UPDATE', [[hooks.url('/one'), hooks.url('/two')]]);
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => register(i % 2 ? a : b)));
    const sessions: Array<{ token: string; sessionId: string; userId: string }> = [];
    for (const [i, user] of users.entries()) {
      for (let j = 0; j < 2; j++) sessions.push({ ...(await login(i % 2 ? b : a, user.email, user.password)), userId: user.userId });
    }
    // Half the users log out each session on its own, on either instance; the others with scope all.
    const byUser = (odd: number) => sessions.filter((_, i) => Math.floor(i / 2) % 2 === odd);
    await Promise.all(byUser(0).map((s, i) => logoutRequest(i % 2 ? a : b, s.token).expect(200)));
    await Promise.all(byUser(1).filter((_, i) => i % 2 === 0).map((s, i) => logoutRequest(i % 2 ? b : a, s.token).send({ scope: 'all' }).expect(200)));
    const ids: string[] = (
      await a.dataSource.query('SELECT id::text FROM session_events WHERE session_id = ANY($1) ORDER BY id', [sessions.map((s) => s.sessionId)])
    ).map((r: { id: string }) => `evt_${r.id}`);
    expect(ids).toHaveLength(sessions.length);
    const queued = await Promise.all([a, b].map((t) => t.app.get(WebhookFanOut).run()));
    expect(queued).toStrictEqual([0, 0]);
    const racing = [a, b].flatMap((t) => [t.app.get(WebhookFanOut).run(), t.app.get(OutboxWorker).drain()]);
    await holder.commitTransaction();
    await holder.release();
    await Promise.all(racing);

    // Every pass of both instances at once, racing for the same endpoint rows and outbox rows.
    for (let i = 0; i < 3; i++) {
      await Promise.all([a, b].flatMap((t) => [t.app.get(WebhookFanOut).run(), t.app.get(WebhookFanOut).run()]));
      await Promise.all([a, b].flatMap((t) => [t.app.get(OutboxWorker).drain(), t.app.get(OutboxWorker).drain()]));
    }
    // And their own loops, for a few seconds more.
    await sleep(2500);
    for (const path of ['/one', '/two']) {
      for (const id of ids) expect(hooks.received(path, id).map((r) => [r.status, r.verified]), `${path} ${id}`).toStrictEqual([[204, true]]);
      expect(hooks.received(path).filter((r) => !ids.includes(r.id))).toStrictEqual([]);
      expect(hooks.received(path, before)).toStrictEqual([]);
    }
    const rows = await a.dataSource.query(
      `SELECT payload->>'eventId' AS event, count(*)::int AS n FROM outbox WHERE kind = 'webhook' AND payload->>'eventId' = ANY($1) GROUP BY 1`,
      [ids.map((id) => id.slice('evt_'.length))],
    );
    expect(rows.map((r: { n: number }) => r.n)).toStrictEqual(ids.map(() => 2));
  });
});
