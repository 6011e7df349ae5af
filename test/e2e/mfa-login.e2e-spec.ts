import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LoginChallengesService } from '../../src/factors/login-challenges.service.js';
import { PasskeysService } from '../../src/factors/passkeys.service.js';
import { ONE_PROOF } from '../../src/mfa/dto/second-factor.dto.js';
import { SessionsService } from '../../src/sessions/sessions.service.js';
import { realPostgresUrl, startApp, type TestApp } from '../support/app.js';
import { expectInvalidRequest, expectTooMany } from '../support/expectations.js';
import { holdNextCall } from '../support/hold.js';
import { BAD_CREDENTIALS_BODY, envelope, MESSAGES } from '../support/messages.js';
import { loginMfaRequest, mfaTokenOf, registerWithTotp } from '../support/mfa.js';
import { INVALID_CODE_BODY, MFA } from '../support/mfa-messages.js';
import { API, bearer, freshAddress, loginRequest, logoutRequest, meRequest, sessionsRequest, withOptions } from '../support/requests.js';
import { lacks, TEST_REDIS_URL } from '../support/requirements.js';
import { holdRows } from '../support/row-locks.js';
import { auditRows, outboxMails, sessionRows } from '../support/rows.js';
import { inOneStep, totpCode } from '../support/totp.js';
import { registerAndLogin } from '../support/users.js';

// A login's second step: the password answers an mfaToken, never a session; the token and one
// proof of a factor answer like a login. Wrong proofs count per token and per user.

const RECOVERY_SUBJECT = 'Se usó un código de recuperación';
/** A code of the factor that the server refuses: five steps away from now. */
const wrongCode = (secret: string) => totpCode(secret, 5);

describe('login with a second factor', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('the right password answers mfaRequired exactly: no tokens, no cookie, no session; the token stored only as its hash', async () => {
    const user = await registerWithTotp(t);
    const before = await sessionRows(t, user.userId);
    const res = await loginRequest(t, user.email, user.password).expect(200);
    expect(res.body).toStrictEqual({
      success: true,
      message: MFA.mfaRequired,
      data: { mfaRequired: true, mfaToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), methods: ['totp', 'recovery_code'] },
    });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await sessionRows(t, user.userId)).toStrictEqual(before);
    const hash = createHash('sha256').update(res.body.data.mfaToken).digest();
    const rows = await t.dataSource.query(
      `SELECT kind, session_epoch, attempts, secret_hash = $2 AS hashed, expires_at - created_at AS ttl FROM mfa_challenges WHERE user_id = $1`,
      [user.userId, hash],
    );
    const epoch = (await t.dataSource.query('SELECT session_epoch FROM users WHERE id = $1', [user.userId]))[0].session_epoch;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'login', session_epoch: epoch, attempts: 0, hashed: true });
    expect(JSON.stringify(await t.dataSource.query('SELECT * FROM mfa_challenges WHERE user_id = $1', [user.userId]))).not.toContain(res.body.data.mfaToken);
  });

  it('methods: only those the user has, in the order totp, webauthn, recovery_code; with a passkey its request options', async () => {
    const user = await registerWithTotp(t);
    await t.dataSource.query('UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1', [user.userId]);
    expect((await loginRequest(t, user.email, user.password).expect(200)).body.data.methods).toStrictEqual(['totp']);

    await t.dataSource.query(
      `INSERT INTO mfa_factors (user_id, type, name, confirmed_at, credential_id, public_key, sign_count) VALUES ($1, 'webauthn', 'Llave', now(), $2, '\\x00', 0)`,
      [user.userId, `cred-${user.userId}`],
    );
    await t.dataSource.query('UPDATE mfa_recovery_codes SET used_at = NULL WHERE user_id = $1', [user.userId]);
    const options = { challenge: 'c2lnbi1tZQ', rpId: 'localhost', allowCredentials: [] };
    const asked = vi.spyOn(t.app.get(PasskeysService), 'requestOptionsFor').mockResolvedValueOnce(options);
    const res = await loginRequest(t, user.email, user.password).expect(200);
    expect(asked).toHaveBeenCalledWith(user.userId);
    expect(res.body.data).toStrictEqual({ mfaRequired: true, mfaToken: expect.any(String), methods: ['totp', 'webauthn', 'recovery_code'], webauthn: options });
    asked.mockRestore();

    // A pending (unconfirmed) factor protects nothing yet: a plain login.
    const plain = await registerAndLogin(t);
    await t.http().post(`${API}/mfa/totp`).set(bearer(plain.token)).send({}).expect(200);
    expect((await loginRequest(t, plain.email, plain.password).expect(200)).body.data.accessToken).toEqual(expect.any(String));
  });

  it('the lock and email checks still come first; a wrong password answers 401 as always', async () => {
    const user = await registerWithTotp(t);
    expect((await loginRequest(t, user.email, 'wrong-password')).text).toBe(BAD_CREDENTIALS_BODY);
    await t.dataSource.query('UPDATE users SET locked_at = now() WHERE id = $1', [user.userId]);
    const locked = await loginRequest(t, user.email, user.password);
    expect(locked.status).toBe(403);
    expect(locked.text).toBe(envelope('La cuenta está bloqueada'));
    expect(await t.dataSource.query('SELECT 1 FROM mfa_challenges WHERE user_id = $1', [user.userId])).toHaveLength(0);
  });

  it('the second step with a TOTP code answers like a login; the session records pwd and otp, in /me and the session list', async () => {
    const user = await registerWithTotp(t);
    const mfaToken = await mfaTokenOf(t, user.email, user.password);
    await inOneStep();
    const res = await loginMfaRequest(t, { mfaToken, code: totpCode(user.secret) }).expect(200);
    expect(res.body).toStrictEqual({
      success: true,
      message: MESSAGES.loggedIn,
      data: { accessToken: expect.any(String), refreshToken: expect.any(String), tokenType: 'Bearer', expiresIn: expect.any(Number), sessionId: expect.any(String) },
    });
    const { accessToken, sessionId } = res.body.data;
    const me = (await meRequest(t, accessToken).expect(200)).body.data;
    expect(me).toMatchObject({ id: user.userId, sessionId, amr: ['pwd', 'otp'] });
    const listed = (await sessionsRequest(t, accessToken).expect(200)).body.data.sessions.find((s: { id: string }) => s.id === sessionId);
    expect(listed.amr).toStrictEqual(['pwd', 'otp']);
    const [login] = await auditRows(t, { event: 'login', sessionId });
    expect(login.details).toStrictEqual({ amr: ['pwd', 'otp'] });
    // Single use: the token is gone, even with the next valid code.
    const again = await loginMfaRequest(t, { mfaToken, code: totpCode(user.secret, 1) });
    expect(again.status).toBe(401);
    expect(again.text).toBe(INVALID_CODE_BODY);
  });

  it('a code is accepted once: the code that opened a session cannot open another', async () => {
    const user = await registerWithTotp(t);
    await inOneStep();
    const code = totpCode(user.secret);
    await loginMfaRequest(t, { mfaToken: await mfaTokenOf(t, user.email, user.password), code }).expect(200);
    const replay = await loginMfaRequest(t, { mfaToken: await mfaTokenOf(t, user.email, user.password), code });
    expect(replay.text).toBe(INVALID_CODE_BODY);
  });

  it('a wrong code: 401 Código de verificación inválido, no WWW-Authenticate, audited mfa_failed, the token still alive', async () => {
    const user = await registerWithTotp(t);
    const mfaToken = await mfaTokenOf(t, user.email, user.password);
    await inOneStep();
    const res = await loginMfaRequest(t, { mfaToken, code: wrongCode(user.secret) });
    expect(res.status).toBe(401);
    expect(res.text).toBe(INVALID_CODE_BODY);
    expect(res.headers['www-authenticate']).toBeUndefined();
    const failed = await auditRows(t, { event: 'mfa_failed', userId: user.userId });
    expect(failed.map((row) => row.details)).toStrictEqual([{ method: 'totp', stage: 'login', attempts: 1 }]);
    await loginMfaRequest(t, { mfaToken, code: totpCode(user.secret) }).expect(200);
  });

  it('five wrong codes kill the mfaToken: then even the right code fails; a new login gets a new token', async () => {
    const user = await registerWithTotp(t);
    const mfaToken = await mfaTokenOf(t, user.email, user.password);
    await inOneStep(8_000);
    for (let i = 0; i < 5; i++) expect((await loginMfaRequest(t, { mfaToken, code: wrongCode(user.secret) })).text).toBe(INVALID_CODE_BODY);
    expect(await t.dataSource.query('SELECT 1 FROM mfa_challenges WHERE user_id = $1', [user.userId])).toHaveLength(0);
    expect((await loginMfaRequest(t, { mfaToken, code: totpCode(user.secret) })).text).toBe(INVALID_CODE_BODY);
    expect(await sessionRows(t, user.userId)).toHaveLength(1);
    await loginMfaRequest(t, { mfaToken: await mfaTokenOf(t, user.email, user.password), code: totpCode(user.secret) }).expect(200);
  });

  it('an expired, unknown or made-up mfaToken answers as a wrong code (no oracle), and opens nothing', async () => {
    const user = await registerWithTotp(t);
    const mfaToken = await mfaTokenOf(t, user.email, user.password);
    await t.dataSource.query(`UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.userId]);
    await inOneStep();
    for (const token of [mfaToken, 'x'.repeat(43), 'no']) {
      const res = await loginMfaRequest(t, { mfaToken: token, code: totpCode(user.secret) });
      expect(res.status).toBe(401);
      expect(res.text).toBe(INVALID_CODE_BODY);
    }
    expect(await sessionRows(t, user.userId)).toHaveLength(1);
  });

  it('exactly one proof: none, two, or a missing mfaToken answer 400', async () => {
    const user = await registerWithTotp(t);
    const mfaToken = await mfaTokenOf(t, user.email, user.password);
    for (const body of [{ mfaToken }, { mfaToken, code: '123456', recoveryCode: user.recoveryCodes[0] }, { mfaToken, code: '123456', webauthn: {} }]) {
      const res = await loginMfaRequest(t, body);
      expectInvalidRequest(res);
      expect(res.body.errors).toStrictEqual([ONE_PROOF]);
    }
    expectInvalidRequest(await loginMfaRequest(t, { code: '123456' }));
    expectInvalidRequest(await loginMfaRequest(t, { mfaToken, code: '12345' }));
    expectInvalidRequest(await loginMfaRequest(t, { mfaToken, code: '123456', extra: 1 }));
  });

  it('a recovery code logs in (pwd, otp), is spent, ends every other session (recovery_code_used), is audited and mails the user', async () => {
    const user = await registerWithTotp(t);
    await inOneStep();
    const other = (await loginMfaRequest(t, { mfaToken: await mfaTokenOf(t, user.email, user.password), code: totpCode(user.secret) }).expect(200)).body.data;
    const recoveryCode = user.recoveryCodes[3]!;
    const res = await loginMfaRequest(t, { mfaToken: await mfaTokenOf(t, user.email, user.password), recoveryCode: recoveryCode.toLowerCase() }).expect(200);
    const { accessToken, sessionId } = res.body.data;
    expect((await meRequest(t, accessToken).expect(200)).body.data.amr).toStrictEqual(['pwd', 'otp']);

    const rows = await sessionRows(t, user.userId);
    expect(rows.map((r) => [r.id, r.ended_reason])).toStrictEqual([
      [user.sessionId, 'recovery_code_used'],
      [other.sessionId, 'recovery_code_used'],
      [sessionId, null],
    ]);
    await meRequest(t, other.accessToken).expect(401);
    const [audit] = await auditRows(t, { event: 'recovery_code_used', userId: user.userId });
    expect(audit).toMatchObject({ session_id: sessionId, details: { reason: 'recovery_code_used', revokedSessions: 2 } });
    const events = await t.dataSource.query(`SELECT session_id, reason FROM session_events WHERE user_id = $1 ORDER BY session_id`, [user.userId]);
    expect(events).toStrictEqual(
      [user.sessionId, other.sessionId].sort().map((id) => ({ session_id: id, reason: 'recovery_code_used' })),
    );
    expect(await outboxMails(t, user.email, RECOVERY_SUBJECT)).toBe(1);
    const [mail] = await t.dataSource.query(`SELECT payload FROM outbox WHERE user_id = $1 AND payload->>'subject' = $2`, [user.userId, RECOVERY_SUBJECT]);
    expect(mail.payload.text).toContain('Le quedan 9 códigos de recuperación.');
    expect(mail.payload.text).not.toContain(recoveryCode);

    // Spent: it opens nothing again.
    const again = await loginMfaRequest(t, { mfaToken: await mfaTokenOf(t, user.email, user.password), recoveryCode });
    expect(again.text).toBe(INVALID_CODE_BODY);
    expect((await auditRows(t, { event: 'mfa_failed', userId: user.userId })).map((r) => r.details.method)).toStrictEqual(['recovery_code']);
  });

  it('a passkey proof (PasskeysService.verifyFor) logs in with pwd and hwk', async () => {
    const user = await registerWithTotp(t);
    const mfaToken = await mfaTokenOf(t, user.email, user.password);
    const assertion = { id: 'cred', response: {} };
    const verified = vi.spyOn(t.app.get(PasskeysService), 'verifyFor').mockResolvedValueOnce({ factorId: 'f', userId: user.userId, userVerified: true });
    const res = await loginMfaRequest(t, { mfaToken, webauthn: assertion }).expect(200);
    expect(verified).toHaveBeenCalledWith(user.userId, assertion);
    verified.mockRestore();
    expect((await meRequest(t, res.body.data.accessToken).expect(200)).body.data.amr).toStrictEqual(['pwd', 'hwk']);
  });

  for (const [act, status, body] of [
    ['an end of all sessions (logout scope all)', 401, BAD_CREDENTIALS_BODY],
    ['a lock', 403, envelope('La cuenta está bloqueada')],
  ] as const) {
    it(`a login in flight overtaken by ${act} between the password and the second step opens nothing`, async () => {
      const user = await registerWithTotp(t);
      const mfaToken = await mfaTokenOf(t, user.email, user.password);
      if (status === 403) await t.dataSource.query('UPDATE users SET locked_at = now() WHERE id = $1', [user.userId]);
      else await logoutRequest(t, user.token).send({ scope: 'all' }).expect(200);
      await inOneStep();
      const res = await loginMfaRequest(t, { mfaToken, code: totpCode(user.secret) });
      expect(res.status).toBe(status);
      expect(res.text).toBe(body);
      expect((await sessionRows(t, user.userId)).map((r) => r.id)).toStrictEqual([user.sessionId]);
      const failed = await auditRows(t, { event: 'login_failed', userId: user.userId });
      expect(failed.map((row) => row.details)).toStrictEqual([{ email: user.email, reason: 'sessions_ended' }]);
    });
  }

  it('an end of all committed while the second step opens its session: the login opens nothing', async () => {
    const user = await registerWithTotp(t);
    const mfaToken = await mfaTokenOf(t, user.email, user.password);
    await inOneStep();
    const held = holdNextCall(t.app.get(SessionsService), 'open');
    const inFlight = Promise.resolve(loginMfaRequest(t, { mfaToken, code: totpCode(user.secret) }));
    await held.reached;
    await logoutRequest(t, user.token).send({ scope: 'all' }).expect(200);
    held.release();
    expect((await inFlight).text).toBe(BAD_CREDENTIALS_BODY);
    expect((await sessionRows(t, user.userId)).map((r) => r.id)).toStrictEqual([user.sessionId]);
  });

  it('two second steps with one mfaToken, the first held before its proof: exactly one 200, the loser spends nothing', async () => {
    const user = await registerWithTotp(t);
    const mfaToken = await mfaTokenOf(t, user.email, user.password);
    await inOneStep();
    const held = holdNextCall(t.app.get(LoginChallengesService), 'redeem');
    const first = Promise.resolve(loginMfaRequest(t, { mfaToken, recoveryCode: user.recoveryCodes[0] }));
    await held.reached;
    await loginMfaRequest(t, { mfaToken, code: totpCode(user.secret) }).expect(200);
    held.release();
    expect((await first).text).toBe(INVALID_CODE_BODY);
    expect((await t.dataSource.query('SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [user.userId]))[0].n).toBe(10);
  });

  it.skipIf(lacks('postgres', 'two second steps waiting on the challenge row'))(
    "two simultaneous second steps with one mfaToken, both waiting on the challenge's row: exactly one 200",
    async () => {
      const user = await registerWithTotp(t);
      const mfaToken = await mfaTokenOf(t, user.email, user.password);
      const hash = createHash('sha256').update(mfaToken).digest();
      await inOneStep(8_000);
      const rows = await holdRows(realPostgresUrl!, 'SELECT id FROM mfa_challenges WHERE secret_hash = $1 FOR UPDATE', [hash]);
      try {
        const answers = Promise.all([
          loginMfaRequest(t, { mfaToken, code: totpCode(user.secret) }),
          loginMfaRequest(t, { mfaToken, recoveryCode: user.recoveryCodes[0] }),
        ]);
        await waitersOnChallenges(t, 2);
        await rows.release();
        const [a, b] = await answers;
        expect([a.status, b.status].sort()).toStrictEqual([200, 401]);
        expect([a, b].find((r) => r.status === 401)!.text).toBe(INVALID_CODE_BODY);
        expect((await sessionRows(t, user.userId)).filter((r) => r.revoked_at === null)).toHaveLength(2);
        // The loser spent nothing: its proof still opens the next login.
        const loser = a.status === 401 ? { code: totpCode(user.secret) } : { recoveryCode: user.recoveryCodes[0] };
        await loginMfaRequest(t, { mfaToken: await mfaTokenOf(t, user.email, user.password), ...loser }).expect(200);
      } finally {
        await rows.release();
      }
    },
  );
});

describe('login with a second factor, cookie mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ REFRESH_TOKEN_COOKIE: 'true' });
  });
  afterAll(() => t.close());

  it('the password step sets no cookie; the second step sets the refresh cookie and keeps it out of the body', async () => {
    const user = await registerWithTotp(t);
    const step = await loginRequest(t, user.email, user.password).expect(200);
    expect(step.headers['set-cookie']).toBeUndefined();
    await inOneStep();
    const res = await loginMfaRequest(t, { mfaToken: step.body.data.mfaToken, code: totpCode(user.secret) }).expect(200);
    expect(Object.keys(res.body.data).sort()).toStrictEqual(['accessToken', 'expiresIn', 'sessionId', 'tokenType']);
    const cookie = (res.headers['set-cookie'] as unknown as string[]).join('\n');
    expect(cookie).toMatch(/^refresh_token=[^;]+; Max-Age=\d+; Path=\/api\/v1\/auth; HttpOnly; Secure; SameSite=Strict$/);
    expect((await meRequest(t, res.body.data.accessToken).expect(200)).body.data.amr).toStrictEqual(['pwd', 'otp']);
  });
});

const STORAGES = [
  ['in memory', {}, false],
  ['in Redis (REDIS_URL)', { REDIS_URL: TEST_REDIS_URL }, true],
] as const;

for (const [storage, extra, needsRedis] of STORAGES) {
  describe.skipIf(needsRedis && lacks('redis', `second-factor failures ${storage}`))(`wrong second-factor codes per user, counted ${storage}`, () => {
    const LIMIT = 3;
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ THROTTLE_LOGIN_LIMIT: String(LIMIT), THROTTLE_LOGIN_TTL: '60', TRUST_PROXY: '1', ...extra });
    });
    afterAll(() => t?.close());

    const from = (address: string) => ({
      login: (email: string, password: string) => loginRequest(t, email, password, { from: address }),
      second: (body: Record<string, unknown>) => withOptions(t.http().post(`${API}/login/mfa`), { from: address }).send(body),
    });

    it('past the login limit of wrong codes, the user gets 429 with Retry-After, whatever mfaToken and address; other users do not', async () => {
      const user = await registerWithTotp(t);
      const a = from(freshAddress());
      const mfaToken = (await a.login(user.email, user.password).expect(200)).body.data.mfaToken;
      await inOneStep(8_000);
      for (let i = 0; i < LIMIT; i++) expect((await a.second({ mfaToken, code: wrongCode(user.secret) })).text).toBe(INVALID_CODE_BODY);
      expectTooMany(await a.second({ mfaToken, code: totpCode(user.secret) }));

      const b = from(freshAddress());
      const another = (await b.login(user.email, user.password).expect(200)).body.data.mfaToken;
      expectTooMany(await b.second({ mfaToken: another, recoveryCode: user.recoveryCodes[0] }));
      expect(await sessionRows(t, user.userId)).toHaveLength(1);
      // Refused before the proof: the recovery code was not spent.
      expect((await t.dataSource.query('SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [user.userId]))[0].n).toBe(10);

      const other = await registerWithTotp(t);
      const c = from(freshAddress());
      const theirs = (await c.login(other.email, other.password).expect(200)).body.data.mfaToken;
      await c.second({ mfaToken: theirs, code: totpCode(other.secret) }).expect(200);
    });
  });
}

/** Waits until `n` statements of the app wait on a lock of mfa_challenges. */
async function waitersOnChallenges(t: TestApp, n: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
    const [row] = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM mfa_challenges%FOR UPDATE%'`,
    );
    if (row.n >= n) return;
  }
  throw new Error(`fewer than ${n} second steps waited on the challenge row`);
}
