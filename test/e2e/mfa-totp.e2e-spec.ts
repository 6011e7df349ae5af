import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FactorRetentionJob } from '../../src/factors/factor-retention.job.js';
import { FactorsRepository } from '../../src/factors/factors.repository.js';
import { MfaChallengesRepository } from '../../src/factors/mfa-challenges.repository.js';
import { seal } from '../../src/factors/secret-box.js';
import { TotpService } from '../../src/factors/totp.service.js';
import { realPostgresUrl, startApp, type TestApp } from '../support/app.js';
import { holdNextCall } from '../support/hold.js';
import { lockWaiters } from '../support/lock-waiters.js';
import { INVALID_CODE_BODY, MFA, RECOVERY_CODE } from '../support/mfa-messages.js';
import { confirmTotpRequest, enrolTotpRequest } from '../support/mfa-requests.js';
import { ageAuthentication, endedEvents, factorRow, factorRows, recoveryCodeHashes } from '../support/mfa-rows.js';
import { meRequest } from '../support/requests.js';
import { lacks } from '../support/requirements.js';
import { holdRows } from '../support/row-locks.js';
import { auditRows, sessionRow } from '../support/rows.js';
import { loginWithCode } from '../support/mfa.js';
import { enrolTotp, inOneStep, totpCode } from '../support/totp.js';
import { login, type LoggedIn, registerAndLogin } from '../support/users.js';

// TOTP factors (RFC 6238): enrolment, the first code that confirms them, and the rule that a code
// is accepted once. Confirming a factor ends every other session of the user (mfa_enabled) and
// raises this one; the secret is only ever stored sealed (AES-256-GCM, under MFA_ENCRYPTION_KEY).

const OLD_KEY = randomBytes(32);
const NEW_KEY = randomBytes(32);
const keyId = (key: Buffer) => createHash('sha256').update(key).digest().subarray(0, 4);
const stepNow = () => Math.floor(Date.now() / 30_000);

describe('TOTP factors', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ MFA_ENCRYPTION_KEY: NEW_KEY.toString('base64'), MFA_PREVIOUS_ENCRYPTION_KEYS: OLD_KEY.toString('base64') });
  });
  afterAll(() => t.close());

  /** A pending factor of the user: its id and secret. */
  async function enrol(user: LoggedIn, body: Record<string, unknown> = {}) {
    const res = await enrolTotpRequest(t, user.token, body).expect(200);
    return res.body.data as { factorId: string; secret: string; uri: string };
  }

  describe('enrolment', () => {
    it('answers a base32 secret and an otpauth://totp/ URI whose issuer is MFA_ISSUER (default auth-backend), the factor pending', async () => {
      const user = await registerAndLogin(t);
      const res = await enrolTotpRequest(t, user.token).expect(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Object.keys(res.body).sort()).toStrictEqual(['data', 'message', 'success']);
      expect(res.body.success).toBe(true);
      expect(res.body.message).toBe(MFA.totpEnrolled);
      const { factorId, secret, uri } = res.body.data;
      expect(Object.keys(res.body.data).sort()).toStrictEqual(['factorId', 'secret', 'uri']);
      expect(factorId).toMatch(/^[0-9a-f-]{36}$/);
      expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
      const parsed = new URL(uri);
      expect(uri.startsWith('otpauth://totp/')).toBe(true);
      expect(decodeURIComponent(parsed.pathname)).toBe(`/auth-backend:${user.email}`);
      expect(parsed.searchParams.get('secret')).toBe(secret);
      expect(parsed.searchParams.get('issuer')).toBe('auth-backend');
      const [row] = await factorRows(t, user.userId);
      expect(row).toMatchObject({ id: factorId, type: 'totp', name: 'Aplicación de autenticación', confirmed_at: null, last_used_at: null, totp_last_step: null });
    });

    it('takes the issuer from MFA_ISSUER', async () => {
      const custom = await startApp({ MFA_ISSUER: 'Mi Empresa' });
      try {
        const user = await registerAndLogin(custom);
        const res = await enrolTotpRequest(custom, user.token, { name: 'Teléfono' }).expect(200);
        const parsed = new URL(res.body.data.uri);
        expect(parsed.protocol).toBe('otpauth:');
        expect(decodeURIComponent(parsed.pathname)).toBe(`/Mi Empresa:${user.email}`);
        expect(parsed.searchParams.get('issuer')).toBe('Mi Empresa');
        expect((await factorRows(custom, user.userId))[0].name).toBe('Teléfono');
      } finally {
        await custom.close();
      }
    });

    it('never stores the secret in clear: the row holds a sealed box under the current key', async () => {
      const user = await registerAndLogin(t);
      const { factorId, secret } = await enrol(user);
      const stored: Buffer = (await factorRow(t, factorId)).totp_secret;
      expect(Buffer.isBuffer(stored)).toBe(true);
      expect(stored.includes(Buffer.from(secret))).toBe(false);
      expect(stored.toString('latin1')).not.toContain(secret);
      expect(stored.subarray(0, 4)).toStrictEqual(keyId(NEW_KEY));
      // Key id, IV, tag, then the sealed secret itself.
      expect(stored.length).toBe(4 + 12 + 16 + secret.length);
    });
  });

  describe('confirmation', () => {
    it("answers 10 distinct recovery codes for the first factor, ends every other session (mfa_enabled) and raises this one with otp", async () => {
      const user = await registerAndLogin(t);
      const others = [await login(t, user.email, user.password), await login(t, user.email, user.password)];
      await ageAuthentication(t, user.sessionId, 3600);
      const before = (await meRequest(t, user.token).expect(200)).body.data;
      expect(before.amr).toStrictEqual(['pwd']);
      const { factorId, secret } = await enrol(user);
      await inOneStep();
      const step = stepNow();

      const res = await confirmTotpRequest(t, user.token, factorId, totpCode(secret)).expect(200);
      expect(Object.keys(res.body).sort()).toStrictEqual(['data', 'message', 'success']);
      expect(res.body.message).toBe(MFA.factorEnabled);
      const codes: string[] = res.body.data.recoveryCodes;
      expect(Object.keys(res.body.data)).toStrictEqual(['recoveryCodes']);
      expect(codes).toHaveLength(10);
      for (const code of codes) expect(code).toMatch(RECOVERY_CODE);
      expect(new Set(codes).size).toBe(10);
      // Stored only as hashes: 10 rows, none holding a code.
      const hashes = await recoveryCodeHashes(t, user.userId, true);
      expect(hashes).toHaveLength(10);
      expect(JSON.stringify(await t.dataSource.query('SELECT * FROM mfa_recovery_codes WHERE user_id = $1', [user.userId]))).not.toContain(codes[0]!.slice(0, 4) + codes[0]!.slice(5, 9));

      // The other sessions ended, each with its reason, one audit row, one session.ended event each.
      for (const other of others) {
        expect((await sessionRow(t, other.sessionId)).ended_reason).toBe('mfa_enabled');
        expect((await meRequest(t, other.token)).status).toBe(401);
      }
      expect(await endedEvents(t, others.map((o) => o.sessionId))).toStrictEqual(
        expect.arrayContaining(others.map((o) => ({ session_id: o.sessionId, reason: 'mfa_enabled' }))),
      );
      expect(await endedEvents(t, others.map((o) => o.sessionId))).toHaveLength(2);
      const audits = await auditRows(t, { event: 'mfa_enabled', userId: user.userId });
      expect(audits.map((a) => [a.session_id, a.details])).toStrictEqual([[user.sessionId, { reason: 'mfa_enabled', revokedSessions: 2 }]]);

      // This session goes on, now with otp, authenticated just now.
      const me = (await meRequest(t, user.token).expect(200)).body.data;
      expect(me.amr).toStrictEqual(['pwd', 'otp']);
      expect(Date.parse(me.authenticatedAt)).toBeGreaterThan(Date.parse(before.authenticatedAt) + 3_000_000);
      expect(Math.abs(Date.parse(me.authenticatedAt) - Date.now())).toBeLessThan(10_000);
      const row = await factorRow(t, factorId);
      expect(row.confirmed_at).not.toBeNull();
      expect(Number(row.totp_last_step)).toBe(step);
    });

    it('answers no recovery codes for a later factor, and leaves the codes as they were', async () => {
      const user = await registerAndLogin(t);
      const first = await enrolTotp(t, user.token);
      expect(first.recoveryCodes).toHaveLength(10);
      const hashes = await recoveryCodeHashes(t, user.userId);
      const other = await loginWithCode(t, user, totpCode(first.secret));
      const { factorId, secret } = await enrol(user);
      await inOneStep();
      const res = await confirmTotpRequest(t, user.token, factorId, totpCode(secret)).expect(200);
      expect(res.body).toStrictEqual({ success: true, message: MFA.factorEnabled, data: {} });
      expect(await recoveryCodeHashes(t, user.userId)).toStrictEqual(hashes);
      expect((await sessionRow(t, other.sessionId)).ended_reason).toBe('mfa_enabled');
      expect((await factorRows(t, user.userId)).map((r) => r.confirmed_at !== null)).toStrictEqual([true, true]);
    });

    it('refuses a wrong code with 401 Código de verificación inválido, not a token error; the factor stays pending', async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      const { factorId, secret } = await enrol(user);
      await inOneStep();
      const right = totpCode(secret);
      const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
      for (const code of [wrong, totpCode(secret, -2), totpCode(secret, 2)]) {
        if ([-1, 0, 1].some((d) => totpCode(secret, d) === code)) continue;
        const res = await confirmTotpRequest(t, user.token, factorId, code);
        expect(res.status).toBe(401);
        expect(res.text).toBe(INVALID_CODE_BODY);
        expect(res.headers['www-authenticate']).toBeUndefined();
      }
      expect((await factorRow(t, factorId)).confirmed_at).toBeNull();
      expect((await sessionRow(t, other.sessionId)).revoked_at).toBeNull();
      // The bearer is fine: the refusal was about the code.
      await meRequest(t, user.token).expect(200);
    });

    it('accepts one step of drift either way', async () => {
      for (const offset of [-1, 1]) {
        const user = await registerAndLogin(t);
        const { factorId, secret } = await enrol(user);
        await inOneStep();
        const step = stepNow();
        await confirmTotpRequest(t, user.token, factorId, totpCode(secret, offset)).expect(200);
        expect(Number((await factorRow(t, factorId)).totp_last_step)).toBe(step + offset);
      }
    });

    it("refuses someone else's factor, even with its right code; its owner can still confirm it", async () => {
      const [owner, intruder] = [await registerAndLogin(t), await registerAndLogin(t)];
      const { factorId, secret } = await enrol(owner);
      await inOneStep();
      const res = await confirmTotpRequest(t, intruder.token, factorId, totpCode(secret));
      expect(res.status).toBe(401);
      expect(res.text).toBe(INVALID_CODE_BODY);
      expect(await factorRows(t, intruder.userId)).toStrictEqual([]);
      expect((await factorRow(t, factorId)).confirmed_at).toBeNull();
      await confirmTotpRequest(t, owner.token, factorId, totpCode(secret)).expect(200);
    });

    it('refuses a factor confirmed already, and the setup code cannot be used again', async () => {
      const user = await registerAndLogin(t);
      const { factorId, secret } = await enrol(user);
      await inOneStep();
      const code = totpCode(secret);
      await confirmTotpRequest(t, user.token, factorId, code).expect(200);
      const again = await confirmTotpRequest(t, user.token, factorId, totpCode(secret, 1));
      expect(again.status).toBe(401);
      expect(again.text).toBe(INVALID_CODE_BODY);
      // The setup code's step is spent: it proves nothing any more (a login's second step, a step-up).
      expect(await t.app.get(TotpService).verify(user.userId, code)).toBeNull();
    });

    it('rejects a malformed body with 400', async () => {
      const user = await registerAndLogin(t);
      const { factorId } = await enrol(user);
      for (const body of [{}, { factorId }, { factorId, code: '12345' }, { factorId, code: 123456 }, { factorId: 'nope', code: '123456' }]) {
        const res = await t.http().post('/api/v1/auth/mfa/totp/confirm').set('Authorization', `Bearer ${user.token}`).send(body);
        expect(res.status).toBe(400);
        expect(res.body.message).toBe('Solicitud inválida');
      }
    });
  });

  describe('a code is accepted once', () => {
    it('the same step again is refused, an earlier step after a later one is refused, a later one is accepted', async () => {
      const user = await registerAndLogin(t);
      const { factorId, secret } = await enrol(user);
      await inOneStep();
      const step = stepNow();
      // Computed once, so a step boundary passing mid-case changes no code.
      const [earlier, current, later] = [-1, 0, 1].map((offset) => totpCode(secret, offset));
      const totp = t.app.get(TotpService);
      await confirmTotpRequest(t, user.token, factorId, current!).expect(200);
      expect(await totp.verify(user.userId, current)).toBeNull();
      expect(await totp.verify(user.userId, earlier)).toBeNull();
      expect(await totp.verify(user.userId, later)).toStrictEqual({ factorId });
      expect(await totp.verify(user.userId, later)).toBeNull();
      expect(await totp.verify(user.userId, current)).toBeNull();
      expect(Number((await factorRow(t, factorId)).totp_last_step)).toBe(step + 1);
    });

    it('two confirmations with one code, the first held after its read until the second answered: exactly one wins', async () => {
      const user = await registerAndLogin(t);
      const { factorId, secret } = await enrol(user);
      await inOneStep();
      const code = totpCode(secret);
      const held = holdNextCall(t.app.get(FactorsRepository), 'acceptTotpStep');
      const first = Promise.resolve(confirmTotpRequest(t, user.token, factorId, code));
      await held.reached;
      const second = await confirmTotpRequest(t, user.token, factorId, code);
      held.release();
      const late = await first;
      expect(second.status).toBe(200);
      expect(second.body.data.recoveryCodes).toHaveLength(10);
      expect(late.status).toBe(401);
      expect(late.text).toBe(INVALID_CODE_BODY);
      expect(await auditRows(t, { event: 'mfa_enabled', userId: user.userId })).toHaveLength(1);
      expect(await recoveryCodeHashes(t, user.userId)).toHaveLength(10);
    });

    it.skipIf(lacks('postgres', "two confirmations parked on the factor's row lock"))(
      "two confirmations with one code, both parked behind the factor's row lock, then let go: exactly one wins",
      async () => {
        const user = await registerAndLogin(t);
        const { factorId, secret } = await enrol(user);
        await inOneStep(8_000);
        const step = stepNow();
        const code = totpCode(secret);
        const lock = await holdRows(realPostgresUrl!, 'SELECT 1 FROM mfa_factors WHERE id = $1 FOR UPDATE', [factorId]);
        let answers;
        try {
          const racing = [confirmTotpRequest(t, user.token, factorId, code), confirmTotpRequest(t, user.token, factorId, code)].map((r) => Promise.resolve(r));
          await lockWaiters(realPostgresUrl!, 'UPDATE mfa_factors SET totp_last_step%', 2);
          await lock.release();
          answers = await Promise.all(racing);
        } finally {
          await lock.release();
        }
        expect(answers.map((r) => r.status).sort()).toStrictEqual([200, 401]);
        expect(answers.find((r) => r.status === 401)!.text).toBe(INVALID_CODE_BODY);
        expect(await auditRows(t, { event: 'mfa_enabled', userId: user.userId })).toHaveLength(1);
        expect(Number((await factorRow(t, factorId)).totp_last_step)).toBe(step);
      },
    );

    it.skipIf(lacks('postgres', "two verifications parked on the factor's row lock"))(
      "two verifications of one code by a confirmed factor, both parked behind its row lock: exactly one proves it",
      async () => {
        const user = await registerAndLogin(t);
        const { factorId, secret } = await enrolTotp(t, user.token);
        const code = totpCode(secret, 0);
        const totp = t.app.get(TotpService);
        const lock = await holdRows(realPostgresUrl!, 'SELECT 1 FROM mfa_factors WHERE id = $1 FOR UPDATE', [factorId]);
        let results;
        try {
          const racing = [totp.verify(user.userId, code), totp.verify(user.userId, code)];
          await lockWaiters(realPostgresUrl!, 'UPDATE mfa_factors SET totp_last_step%', 2);
          await lock.release();
          results = await Promise.all(racing);
        } finally {
          await lock.release();
        }
        expect(results.filter((r) => r !== null)).toStrictEqual([{ factorId }]);
      },
    );
  });

  describe('pending factors', () => {
    it('expire after 10 minutes: a code then confirms nothing; younger ones still confirm', async () => {
      const user = await registerAndLogin(t);
      const [old, young] = [await enrol(user), await enrol(user)];
      await t.dataSource.query(`UPDATE mfa_factors SET created_at = now() - interval '10 minutes 1 second' WHERE id = $1`, [old.factorId]);
      await t.dataSource.query(`UPDATE mfa_factors SET created_at = now() - interval '9 minutes 50 seconds' WHERE id = $1`, [young.factorId]);
      await inOneStep();
      const res = await confirmTotpRequest(t, user.token, old.factorId, totpCode(old.secret));
      expect(res.status).toBe(401);
      expect(res.text).toBe(INVALID_CODE_BODY);
      await confirmTotpRequest(t, user.token, young.factorId, totpCode(young.secret)).expect(200);
    });

    it('past their 10 minutes, and expired challenges, are deleted by the retention job; nothing else is', async () => {
      const user = await registerAndLogin(t);
      const confirmed = await enrolTotp(t, user.token);
      const [old, young] = [await enrol(user), await enrol(user)];
      await t.dataSource.query(`UPDATE mfa_factors SET created_at = now() - interval '11 minutes' WHERE id = ANY($1::uuid[])`, [[old.factorId, confirmed.factorId]]);
      await t.dataSource.query(`UPDATE mfa_factors SET created_at = now() - interval '9 minutes' WHERE id = $1`, [young.factorId]);
      const challenges = t.app.get(MfaChallengesRepository);
      const expired = await challenges.open({ kind: 'login', ttlSeconds: 300, userId: user.userId });
      const live = await challenges.open({ kind: 'login', ttlSeconds: 300, userId: user.userId });
      await t.dataSource.query(`UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired]);

      const purged = await t.app.get(FactorRetentionJob).purge();
      expect(purged!.pendingFactors).toBeGreaterThanOrEqual(1);
      expect(purged!.challenges).toBeGreaterThanOrEqual(1);
      expect((await factorRows(t, user.userId)).map((r) => r.id).sort()).toStrictEqual([confirmed.factorId, young.factorId].sort());
      const left = await t.dataSource.query('SELECT id FROM mfa_challenges WHERE user_id = $1', [user.userId]);
      expect(left).toStrictEqual([{ id: live }]);
    });

    it.skipIf(lacks('postgres', 'two instances purging on one database'))('is purged by one instance at a time: a run finding the lock held deletes nothing', async () => {
      const user = await registerAndLogin(t);
      const old = await enrol(user);
      await t.dataSource.query(`UPDATE mfa_factors SET created_at = now() - interval '11 minutes' WHERE id = $1`, [old.factorId]);
      const lock = await holdRows(realPostgresUrl!, `SELECT pg_advisory_xact_lock(${0x2fac_70e5}) , 1 FROM users WHERE id = $1`, [user.userId]);
      try {
        expect(await t.app.get(FactorRetentionJob).purge()).toBeNull();
        expect(await factorRows(t, user.userId)).toHaveLength(1);
      } finally {
        await lock.release();
      }
      expect((await t.app.get(FactorRetentionJob).purge())!.pendingFactors).toBeGreaterThanOrEqual(1);
      expect(await factorRows(t, user.userId)).toStrictEqual([]);
    });
  });

  describe('key rotation', () => {
    it('a secret sealed under a key of MFA_PREVIOUS_ENCRYPTION_KEYS still verifies, and is sealed again under the current key when used', async () => {
      const user = await registerAndLogin(t);
      const { factorId, secret } = await enrol(user);
      await t.dataSource.query('UPDATE mfa_factors SET totp_secret = $2 WHERE id = $1', [factorId, seal(Buffer.from(secret), { current: OLD_KEY, previous: [] }, user.userId)]);
      expect((await factorRow(t, factorId)).totp_secret.subarray(0, 4)).toStrictEqual(keyId(OLD_KEY));
      await inOneStep();
      await confirmTotpRequest(t, user.token, factorId, totpCode(secret, -1)).expect(200);
      const resealed: Buffer = (await factorRow(t, factorId)).totp_secret;
      expect(resealed.subarray(0, 4)).toStrictEqual(keyId(NEW_KEY));
      expect(resealed.includes(Buffer.from(secret))).toBe(false);
      // Under the new key it goes on working.
      expect(await t.app.get(TotpService).verify(user.userId, totpCode(secret, 0))).toStrictEqual({ factorId });
    });

    it('a secret sealed under a key no longer configured, or for another user, verifies nothing', async () => {
      const user = await registerAndLogin(t);
      const [a, b] = [await enrol(user), await enrol(user)];
      await t.dataSource.query('UPDATE mfa_factors SET totp_secret = $2 WHERE id = $1', [a.factorId, seal(Buffer.from(a.secret), { current: randomBytes(32), previous: [] }, user.userId)]);
      const stranger = (await registerAndLogin(t)).userId;
      await t.dataSource.query('UPDATE mfa_factors SET totp_secret = $2 WHERE id = $1', [b.factorId, seal(Buffer.from(b.secret), { current: NEW_KEY, previous: [] }, stranger)]);
      await inOneStep();
      for (const { factorId, secret } of [a, b]) {
        const res = await confirmTotpRequest(t, user.token, factorId, totpCode(secret));
        expect(res.status).toBe(401);
        expect(res.text).toBe(INVALID_CODE_BODY);
      }
    });
  });
});

describe('production without MFA_ENCRYPTION_KEY', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ NODE_ENV: 'production', JWT_SECRET: 'r4Nd0m-Qx8vT2kLp9Zw3Yb6Hn1Jm5Cs7Df0Gh-prod', MFA_ENCRYPTION_KEY: undefined });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('starts and serves, but stores no TOTP secret: 503 Servicio no disponible, no factor row, the session untouched', async () => {
    const user = await registerAndLogin(t);
    const res = await enrolTotpRequest(t, user.token);
    expect(res.status).toBe(503);
    expect(res.body).toStrictEqual({ success: false, message: 'Servicio no disponible' });
    expect(await factorRows(t, user.userId)).toStrictEqual([]);
    expect((await meRequest(t, user.token).expect(200)).body.data.amr).toStrictEqual(['pwd']);
  });
});
