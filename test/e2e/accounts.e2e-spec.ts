import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxWorker } from '../../src/outbox/outbox.worker.js';
import { startApp, type TestApp } from '../support/app.js';
import { bearer, loginRequest, meRequest } from '../support/requests.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { login, register, uniqueEmail } from '../support/users.js';

/**
 * The user's outbox rows once `settled` holds for each: the outbox driven by hand rather than
 * waited for, pass after pass, as mail that other cases left due on a shared database goes first.
 */
async function mailOf(t: TestApp, userId: string, settled: (row: { status: string; attempts: number }) => boolean): Promise<any[]> {
  const read = () => t.dataSource.query('SELECT status, attempts, last_error, payload::text AS payload FROM outbox WHERE user_id = $1', [userId]);
  for (let pass = 0; pass < 20; pass++) {
    const rows = await read();
    if (rows.length > 0 && rows.every(settled)) return rows;
    await t.app.get(OutboxWorker).drain();
  }
  return read();
}

// Accounts that can be recovered, verified and deleted, with the mail caught by a real SMTP
// server and the links followed from the mail received.

const API = '/api/v1/auth';
const RESET_REQUESTED = { success: true, message: 'Si el correo está registrado, recibirá un enlace para restablecer la contraseña' };
const INVALID_LINK = { success: false, message: 'Solicitud inválida', errors: ['El enlace no es válido o ha caducado'] };
const tokenOf = (link: string | undefined) => new URL(link!).searchParams.get('token')!;
const RESET = { subject: 'Restablecer la contraseña' };
const VERIFY = { subject: 'Verifique su correo electrónico' };

describe('accounts: recovery, verification, deletion', () => {
  let t: TestApp;
  let smtp: SmtpSink;
  const forgot = (email: string) => t.http().post(`${API}/password/forgot`).send({ email });
  const reset = (token: string, newPassword = 'a-new-password-1') => t.http().post(`${API}/password/reset`).send({ token, newPassword });
  const verify = (token: string) => t.http().post(`${API}/email/verify`).send({ token });

  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Auth <auth@example.com>', PASSWORD_RESET_URL: 'https://app.example.com/reset' });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  describe('password recovery', () => {
    it('forgot: 202 with one body for a known and an unknown address; only the known one gets mail', async () => {
      const user = await register(t);
      const stranger = uniqueEmail();
      const known = await forgot(user.email);
      const unknown = await forgot(stranger);
      expect([known.status, unknown.status]).toStrictEqual([202, 202]);
      expect(known.body).toStrictEqual(RESET_REQUESTED);
      expect(JSON.stringify(unknown.body)).toBe(JSON.stringify(known.body));
      const mail = await smtp.next(user.email, RESET);
      expect(mail.link).toMatch(/^https:\/\/app\.example\.com\/reset\?token=[A-Za-z0-9_-]{43}$/);
      expect(mail.html).toContain('href="https://app.example.com/reset?token=');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(smtp.mailsTo(stranger)).toStrictEqual([]);
    });

    it('forgot answers a known and an unknown address in the same time: it answers before looking', async () => {
      const user = await register(t);
      const time = async (email: string) => {
        const started = performance.now();
        await forgot(email).expect(202);
        return performance.now() - started;
      };
      const known: number[] = [];
      const unknown: number[] = [];
      // Interleaved, so that the machine's noise falls on both alike.
      for (let i = 0; i < 15; i++) {
        known.push(await time(user.email));
        unknown.push(await time(uniqueEmail()));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      // Generous bounds for a shared machine: a lookup-and-transaction path would show as a
      // multiple, not as a few milliseconds.
      expect(Math.abs(median(known) - median(unknown))).toBeLessThan(Math.max(15, median(unknown)));
    });

    it('reset from the link in the mail: 200, every session ends, the old password is refused, the new works', async () => {
      const user = await register(t);
      const sessions = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
      await forgot(user.email).expect(202);
      const mail = await smtp.next(user.email, RESET);
      const res = await reset(tokenOf(mail.link));
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ success: true, message: 'Contraseña restablecida exitosamente', data: { revokedSessions: 2 } });
      for (const { token } of sessions) expect((await meRequest(t, token)).status).toBe(401);
      expect((await loginRequest(t, user.email, user.password)).status).toBe(401);
      expect((await loginRequest(t, user.email, 'a-new-password-1')).status).toBe(200);
      const rows = await t.dataSource.query(`SELECT ended_reason FROM sessions WHERE user_id = $1 AND id = ANY($2)`, [user.userId, sessions.map((s) => s.sessionId)]);
      expect(rows.map((r: { ended_reason: string }) => r.ended_reason)).toStrictEqual(['password_reset', 'password_reset']);
      const [audit] = await t.dataSource.query(`SELECT details FROM audit_events WHERE user_id = $1 AND event = 'password_reset'`, [user.userId]);
      expect(audit.details).toMatchObject({ reason: 'password_reset', revokedSessions: 2 });
    });

    it('a link serves once; a newer request voids the older link; made-up tokens are refused alike', async () => {
      const user = await register(t);
      await forgot(user.email).expect(202);
      const first = tokenOf((await smtp.next(user.email, RESET)).link);
      await forgot(user.email).expect(202);
      const second = tokenOf((await smtp.next(user.email, { ...RESET, after: 1 })).link);
      expect((await reset(first)).body).toStrictEqual(INVALID_LINK);
      expect((await reset(second)).status).toBe(200);
      expect((await reset(second)).body).toStrictEqual(INVALID_LINK);
      expect((await reset('x'.repeat(43))).body).toStrictEqual(INVALID_LINK);
    });

    it('simultaneous resets with one token: exactly one 200', async () => {
      const user = await register(t);
      await forgot(user.email).expect(202);
      const token = tokenOf((await smtp.next(user.email, RESET)).link);
      const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => reset(token, `password-race-${i}`)));
      expect(answers.map((a) => a.status).sort()).toStrictEqual([200, 400, 400, 400, 400]);
    });

    it('stores only hashes of the tokens, and a delivered mail keeps no body', async () => {
      const user = await register(t);
      await forgot(user.email).expect(202);
      const token = tokenOf((await smtp.next(user.email, RESET)).link);
      const tokens = await t.dataSource.query(`SELECT encode(token_hash, 'hex') AS hash FROM account_tokens WHERE user_id = $1`, [user.userId]);
      expect(JSON.stringify(tokens)).not.toContain(token);
      const outbox = await mailOf(t, user.userId, (row) => row.status === 'sent');
      expect(outbox.length).toBeGreaterThanOrEqual(1);
      expect(outbox.every((row: { status: string }) => row.status === 'sent')).toBe(true);
      expect(JSON.stringify(outbox)).not.toContain(token);
    });
  });

  describe('email verification', () => {
    it('registration mails a link; following it verifies the address once', async () => {
      const user = await register(t);
      const mail = await smtp.next(user.email, VERIFY);
      expect(mail.text).toContain('El enlace vale 24 horas');
      const token = tokenOf(mail.link);
      const res = await verify(token);
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ success: true, message: 'Correo verificado exitosamente' });
      expect((await verify(token)).body).toStrictEqual(INVALID_LINK);
      const [row] = await t.dataSource.query('SELECT email_verified_at FROM users WHERE id = $1', [user.userId]);
      expect(row.email_verified_at).not.toBeNull();
    });

    it('resend (Bearer): 202 and a new link that voids the first; nothing once verified', async () => {
      const user = await register(t);
      const first = tokenOf((await smtp.next(user.email, VERIFY)).link);
      const { token } = await login(t, user.email, user.password);
      const res = await t.http().post(`${API}/email/verify/resend`).set(bearer(token));
      expect(res.status).toBe(202);
      const second = tokenOf((await smtp.next(user.email, { ...VERIFY, after: 1 })).link);
      expect((await verify(first)).body).toStrictEqual(INVALID_LINK);
      expect((await verify(second)).status).toBe(200);
      await t.http().post(`${API}/email/verify/resend`).set(bearer(token)).expect(202);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(smtp.mailsTo(user.email)).toHaveLength(2);
    });
  });

  describe('account deletion', () => {
    it('with the wrong password: 401 Credenciales inválidas, nothing changes', async () => {
      const user = await register(t);
      const { token } = await login(t, user.email, user.password);
      const res = await t.http().delete(`${API}/account`).set(bearer(token)).send({ password: 'not-the-password' });
      expect(res.status).toBe(401);
      expect(res.body).toStrictEqual({ success: false, message: 'Credenciales inválidas' });
      expect((await meRequest(t, token)).status).toBe(200);
    });

    it('with the password: every session ends, the email is free, nothing but audit rows remains', async () => {
      const user = await register(t);
      await smtp.next(user.email, VERIFY);
      const a = await login(t, user.email, user.password);
      const b = await login(t, user.email, user.password);
      const res = await t.http().delete(`${API}/account`).set(bearer(a.token)).send({ password: user.password });
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ success: true, message: 'Cuenta eliminada exitosamente' });
      // The caller's own session ended: its origin's storage, not every cookie of the site.
      expect(res.headers['clear-site-data']).toBe('"storage"');
      for (const { token } of [a, b]) expect((await meRequest(t, token)).status).toBe(401);
      for (const table of ['users WHERE id = $1', 'sessions WHERE user_id = $1', 'account_tokens WHERE user_id = $1', 'outbox WHERE user_id = $1']) {
        expect(await t.dataSource.query(`SELECT 1 FROM ${table}`, [user.userId]), table).toStrictEqual([]);
      }
      const audit = await t.dataSource.query(`SELECT event, details FROM audit_events WHERE user_id = $1 AND event = 'account_deleted'`, [user.userId]);
      expect(audit).toMatchObject([{ details: { reason: 'account_deleted', revokedSessions: 2 } }]);
      await t.http().post(`${API}/register`).send({ email: user.email, password: 'password-456' }).expect(201);
    });
  });
});

describe('REQUIRE_EMAIL_VERIFICATION=true', () => {
  let t: TestApp;
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink();
    t = await startApp({ SMTP_URL: smtp.url, REQUIRE_EMAIL_VERIFICATION: 'true' });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('the right password on an unverified account: 403; a wrong one: 401; verified: 200', async () => {
    const user = await register(t);
    const refused = await loginRequest(t, user.email, user.password);
    expect(refused.status).toBe(403);
    expect(refused.body).toStrictEqual({ success: false, message: 'Debe verificar su correo electrónico' });
    expect(refused.headers['www-authenticate']).toBeUndefined();
    expect((await loginRequest(t, user.email, 'wrong-password')).status).toBe(401);
    await t.http().post(`${API}/email/verify`).send({ token: tokenOf((await smtp.next(user.email, VERIFY)).link) }).expect(200);
    expect((await loginRequest(t, user.email, user.password)).status).toBe(200);
  });
});

describe('mail while SMTP is down', () => {
  it('is kept in the outbox and delivered once SMTP is back, once', async () => {
    const probe = await startSmtpSink();
    const port = probe.port;
    await probe.close();
    const t = await startApp({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    try {
      const user = await register(t);
      const [pending] = await mailOf(t, user.userId, (row) => row.attempts >= 1);
      expect(pending.status).toBe('pending');
      expect(pending.attempts).toBeGreaterThanOrEqual(1);
      expect(pending.last_error).toMatch(/ECONNREFUSED|connect/i);
      const smtp = await startSmtpSink(port);
      try {
        const mail = await smtp.next(user.email, { ...VERIFY, timeoutMs: 15_000 });
        expect(mail.link).toContain('/verify-email?token=');
        await new Promise((resolve) => setTimeout(resolve, 2500));
        expect(smtp.mailsTo(user.email)).toHaveLength(1);
        const [sent] = await t.dataSource.query(`SELECT status FROM outbox WHERE user_id = $1`, [user.userId]);
        expect(sent.status).toBe('sent');
      } finally {
        await smtp.close();
      }
    } finally {
      await t.close();
    }
  });
});

describe('rate limits of the account routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ THROTTLE_LOGIN_LIMIT: '2', THROTTLE_LOGIN_TTL: '60' });
  });
  afterAll(() => t.close());

  it('a wrong password to DELETE /account counts against the login limit', async () => {
    const user = await register(t);
    const { token } = await login(t, user.email, user.password);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await t.http().delete(`${API}/account`).set(bearer(token)).send({ password: 'not-it-at-all' })).status);
    expect(statuses).toStrictEqual([401, 401, 429]);
  });
});

describe('production without SMTP_URL', () => {
  it('starts, and keeps mail in the outbox (never in the log) until an instance with SMTP_URL sends it', async () => {
    const t = await startApp({ NODE_ENV: 'production', JWT_SECRET: 'r4Nd0m-Qx8vT2kLp9Zw3Yb6Hn1Jm5Cs7Df0Gh-prod', MFA_ENCRYPTION_KEY: 'B'.repeat(43) + '=' });
    try {
      const user = await register(t);
      const [row] = await mailOf(t, user.userId, (r) => r.attempts >= 1);
      expect(row).toMatchObject({ status: 'pending', last_error: 'SMTP_URL is not set: the mail waits in the outbox' });
      expect(row.attempts).toBeGreaterThanOrEqual(1);
    } finally {
      await t.close();
    }
  });
});
