import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it, describe } from 'vitest';
import { realPostgresUrl, startApp, type TestApp } from '../support/app.js';
import { meRequest } from '../support/requests.js';
import { lacks } from '../support/requirements.js';
import { startServerProcess } from '../support/server-process.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { login, register, uniqueEmail } from '../support/users.js';

// The outbox under several instances and a crash, on one PostgreSQL: each message delivered once,
// none lost; and a reset ends sessions that other instances check.

const run = describe.skipIf(lacks('postgres', 'several instances delivering one outbox'));
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
