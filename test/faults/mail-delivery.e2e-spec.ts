import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, expect, it, describe } from 'vitest';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { OutboxWorker } from '../../src/outbox/outbox.worker.js';
import { realPostgresUrl, startApp, type TestApp } from '../support/app.js';
import { parseSamples, valueOf } from '../support/prometheus.js';
import { meRequest } from '../support/requests.js';
import { lacks } from '../support/requirements.js';
import { startServerProcess } from '../support/server-process.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { login, register, uniqueEmail } from '../support/users.js';

// What an SMTP server's refusals and silences do to a message, on either database: only an address
// refused for good ends it; a refusal that is the sender's fault keeps it (retried, counted); an
// answer that comes late makes no second copy. Then the outbox under several instances and a
// crash, on one PostgreSQL: each message delivered once, none lost; and a reset ends sessions that
// other instances check.

const run = describe.skipIf(lacks('postgres', 'several instances delivering one outbox'));

describe('an SMTP server that refuses or answers late', () => {
  let smtp: SmtpSink;
  let t: TestApp;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    // With credentials, so that the client logs in (and a refused login can be tried).
    t = await startApp({ SMTP_URL: `smtp://sender:secret@127.0.0.1:${smtp.port}`, METRICS_ENABLED: 'true', METRICS_PORT: '0' });
  });
  afterEach(() => smtp.behave({}));
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const mailRow = async (email: string) =>
    (await t.dataSource.query(`SELECT id::text, status, attempts, last_error FROM outbox WHERE kind = 'mail' AND payload->>'to' = $1`, [email]))[0];
  const failures = async (kind: string) => valueOf(parseSamples((await t.app.get(MetricsService).scrape())!.body), 'mail_delivery_failures_total', { class: kind }) ?? 0;
  /** A registration's verification mail, its one attempt made while the server answers `reply` at `stage`. */
  const refusedOnce = async (behaviour: Parameters<SmtpSink['behave']>[0]) => {
    smtp.behave(behaviour);
    const user = await register(t);
    await t.app.get(OutboxWorker).drain();
    return user;
  };

  it.each([
    ['a refused login (535)', { auth: '535 5.7.8 Error: authentication failed' }, '535'],
    ['a sending quota (550 5.4.5)', { mailFrom: '550 5.4.5 Daily user sending quota exceeded' }, '5.4.5'],
    ['a full mailbox (552 5.2.2)', { rcptTo: '552 5.2.2 Mailbox full' }, '5.2.2'],
    ['a policy refusal (554 5.7.1)', { rcptTo: '554 5.7.1 Relay access denied' }, '5.7.1'],
    ['a failed transaction (554)', { data: '554 Transaction failed' }, '554'],
  ])('%s keeps the message, retried with backoff and counted as the sender’s fault; it leaves once the server accepts', async (_what, behaviour, shown) => {
    const counted = await failures('sender');
    const user = await refusedOnce(behaviour);
    const row = await mailRow(user.email);
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.last_error).toContain(shown);
    // At least: on a shared database, messages left pending by earlier runs meet the refusal too.
    expect(await failures('sender')).toBeGreaterThan(counted);
    expect(smtp.mailsTo(user.email)).toStrictEqual([]);

    smtp.behave({});
    await t.dataSource.query('UPDATE outbox SET next_attempt_at = now() WHERE id = $1', [row.id]);
    await t.app.get(OutboxWorker).drain();
    expect(smtp.mailsTo(user.email, VERIFY.subject)).toHaveLength(1);
    expect(await mailRow(user.email)).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
  });

  it('an unknown recipient (550 5.1.1) ends the message, with the reason', async () => {
    const counted = await failures('recipient');
    const user = await refusedOnce({ rcptTo: '550 5.1.1 User unknown' });
    const row = await mailRow(user.email);
    expect(row).toMatchObject({ status: 'dead', attempts: 1 });
    expect(row.last_error).toContain('550 5.1.1 User unknown');
    expect(await failures('recipient')).toBeGreaterThan(counted);
  });

  it('a 4xx is retried, without an alert', async () => {
    const counted = await failures('sender');
    const user = await refusedOnce({ rcptTo: '451 4.3.0 Try again later' });
    expect(await mailRow(user.email)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(await failures('sender')).toBe(counted);
  });

  it('a message answered 35 s after its DATA (past the old 30 s wait) is sent once', async () => {
    smtp.behave({ dataDelayMs: 35_000 });
    const user = await register(t);
    // The server's own loop delivers it; the answer comes late, and nothing is sent meanwhile.
    const mail = await smtp.next(user.email, { ...VERIFY, timeoutMs: 50_000 });
    expect(mail.link).toContain('token=');
    await sleep(3_000);
    expect(smtp.dataReceived(user.email)).toBe(1);
    expect(smtp.mailsTo(user.email)).toHaveLength(1);
    expect(await mailRow(user.email)).toMatchObject({ status: 'sent', attempts: 1 });
  }, 70_000);
});
const VERIFY = { subject: 'Verifique su correo electrónico' };
const tokenOf = (link: string | undefined) => new URL(link!).searchParams.get('token')!;

run('two instances on one database and one SMTP server', () => {
  let smtp: SmtpSink;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    a = await startApp({ DATABASE_URL: realPostgresUrl, SMTP_URL: smtp.url });
    b = await startApp({ DATABASE_URL: realPostgresUrl, SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await smtp?.close();
  });

  it('deliver each message once, whichever instance wrote it', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, (_, i) => register(i % 2 ? a : b, uniqueEmail())));
    await Promise.all(users.map((user) => smtp.next(user.email, VERIFY)));
    await sleep(2500);
    for (const user of users) expect(smtp.mailsTo(user.email, VERIFY.subject), user.email).toHaveLength(1);
  });

  it('a reset on one instance: sessions checked by the other are refused at once', async () => {
    const user = await register(a);
    const sessions = [await login(a, user.email, user.password), await login(b, user.email, user.password)];
    for (const { token } of sessions) expect((await meRequest(b, token)).status).toBe(200);
    await a.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    const link = (await smtp.next(user.email, { subject: 'Restablecer la contraseña' })).link;
    const res = await b.http().post('/api/v1/auth/password/reset').send({ token: tokenOf(link), newPassword: 'another-password-1' });
    expect(res.body.data).toStrictEqual({ revokedSessions: 2 });
    for (const { token } of sessions) {
      expect((await meRequest(a, token)).status).toBe(401);
      expect((await meRequest(b, token)).status).toBe(401);
    }
  });
});

run('a server killed with mail pending', () => {
  it('delivers it after the restart, once', async () => {
    const probe = await startSmtpSink();
    const port = probe.port;
    await probe.close();
    const env = { DATABASE_URL: realPostgresUrl!, SMTP_URL: `smtp://127.0.0.1:${port}` };
    const first = await startServerProcess(env);
    const email = uniqueEmail();
    await first.http().post('/api/v1/auth/register').send({ email, password: 'password-123' }).expect(201);
    await sleep(1500);
    await first.kill('SIGKILL');
    const smtp = await startSmtpSink(port);
    const second = await startServerProcess(env);
    try {
      // The crash left the message leased or waiting for its retry: it comes within a minute.
      const mail = await smtp.next(email, { ...VERIFY, timeoutMs: 75_000 });
      expect(mail.link).toContain('token=');
      await sleep(3000);
      expect(smtp.mailsTo(email)).toHaveLength(1);
    } finally {
      await second.stop();
      await smtp.close();
    }
  }, 120_000);
});
