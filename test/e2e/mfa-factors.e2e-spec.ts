import { createHash } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/admin/admin.server.js';
import { RecoveryCodesService } from '../../src/factors/recovery-codes.service.js';
import { SessionsService } from '../../src/sessions/sessions.service.js';
import { realPostgresUrl, startApp, type TestApp } from '../support/app.js';
import { expectInvalidRequest } from '../support/expectations.js';
import { holdNextCall } from '../support/hold.js';
import { lockWaiters } from '../support/lock-waiters.js';
import { MFA, NOT_FOUND_BODY, RECOVERY_CODE, STEP_UP_BODY, stepUpChallenge } from '../support/mfa-messages.js';
import { enrolTotpRequest, factorsRequest, recoveryCodesRequest, removeFactorRequest } from '../support/mfa-requests.js';
import { ageAuthentication, endedEvents, factorRows, insertPasskeyFactor, recoveryCodeHashes } from '../support/mfa-rows.js';
import { meRequest } from '../support/requests.js';
import { lacks } from '../support/requirements.js';
import { holdRows } from '../support/row-locks.js';
import { auditRows, sessionRow, sessionRows } from '../support/rows.js';
import { loginWithCode, registerWithTotp } from '../support/mfa.js';
import { enrolTotp, totpCode } from '../support/totp.js';
import { login, registerAndLogin } from '../support/users.js';

// A user's factors: the list, a removal (step-up; it ends every other session, and the last one
// takes the recovery codes with it), a new set of recovery codes (step-up), and an operator's
// reset of everything (every session ends).

const ADMIN_TOKEN = 'operator-token-0123456789-abcdefghijkl';
const fingerprint = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 16);
const NO_FACTOR = 'Los códigos de recuperación requieren un segundo factor activo';
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('second factors of a user', () => {
  let t: TestApp;
  let admin: () => ReturnType<typeof request>;
  const asAdmin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

  beforeAll(async () => {
    t = await startApp({ ADMIN_PORT: '0', ADMIN_TOKENS: ADMIN_TOKEN });
    const base = `http://127.0.0.1:${t.app.get(AdminServer).port}`;
    admin = () => request(base);
  });
  afterAll(() => t.close());

  /** The step-up refusal, exact: body, RFC 9470 challenge. */
  function expectStepUpRequired(res: request.Response) {
    expect(res.status).toBe(401);
    expect(res.text).toBe(STEP_UP_BODY);
    expect(res.headers['www-authenticate']).toBe(stepUpChallenge(300));
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  }

  function expectNotFound(res: request.Response) {
    expect(res.status).toBe(404);
    expect(res.text).toBe(NOT_FOUND_BODY);
    expect(res.headers['www-authenticate']).toBeUndefined();
  }

  /** A user with a confirmed TOTP factor and its 10 recovery codes. */
  describe('GET /api/v1/auth/mfa/factors', () => {
    it('lists the confirmed factors, oldest first, with id, type, name, createdAt and lastUsedAt; not the pending ones, not another user’s', async () => {
      const user = await registerAndLogin(t);
      expect((await factorsRequest(t, user.token).expect(200)).body).toStrictEqual({ success: true, message: MFA.factors, data: { factors: [] } });
      const totp = await enrolTotp(t, user.token);
      await enrolTotpRequest(t, user.token, { name: 'Pendiente' }).expect(200);
      const passkey = await insertPasskeyFactor(t, user.userId, 'Llave USB');
      await registerWithTotp(t); // another user's factor

      const res = await factorsRequest(t, user.token).expect(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body.message).toBe(MFA.factors);
      expect(res.body.data.factors).toStrictEqual([
        { id: totp.factorId, type: 'totp', name: 'Aplicación de autenticación', createdAt: expect.stringMatching(ISO), lastUsedAt: expect.stringMatching(ISO) },
        { id: passkey, type: 'webauthn', name: 'Llave USB', createdAt: expect.stringMatching(ISO), lastUsedAt: null },
      ]);
    });

    it('needs a live session', async () => {
      const user = await registerAndLogin(t);
      await t.http().post('/api/v1/auth/logout').set('Authorization', `Bearer ${user.token}`).expect(200);
      expect((await factorsRequest(t, user.token)).status).toBe(401);
    });
  });

  describe('DELETE /api/v1/auth/mfa/factors/:id', () => {
    it('needs a factor proved within STEP_UP_MAX_AGE: otherwise 401 with the insufficient_user_authentication challenge, nothing removed', async () => {
      const user = await registerWithTotp(t);
      const other = await loginWithCode(t, user, totpCode(user.secret));
      await ageAuthentication(t, user.sessionId, 301);
      expectStepUpRequired(await removeFactorRequest(t, user.token, user.factorId));
      expect(await factorRows(t, user.userId)).toHaveLength(1);
      expect((await sessionRow(t, other.sessionId)).revoked_at).toBeNull();
      // Still recent enough at 290 s.
      await ageAuthentication(t, user.sessionId, 290);
      await removeFactorRequest(t, user.token, user.factorId).expect(200);
    });

    it('removes the factor and ends every other session of the user (mfa_removed): rows, audit, session.ended events', async () => {
      const user = await registerWithTotp(t);
      const passkey = await insertPasskeyFactor(t, user.userId);
      const others = [await loginWithCode(t, user, totpCode(user.secret)), await loginWithCode(t, user, totpCode(user.secret, 1))];
      const stranger = await registerWithTotp(t);

      const res = await removeFactorRequest(t, user.token, user.factorId).expect(200);
      expect(res.body).toStrictEqual({ success: true, message: MFA.factorRemoved, data: { revokedSessions: 2 } });
      expect((await factorRows(t, user.userId)).map((r) => r.id)).toStrictEqual([passkey]);
      for (const other of others) {
        expect((await sessionRow(t, other.sessionId)).ended_reason).toBe('mfa_removed');
        expect((await meRequest(t, other.token)).status).toBe(401);
      }
      await meRequest(t, user.token).expect(200);
      const events = await endedEvents(t, others.map((o) => o.sessionId));
      expect(events).toHaveLength(2);
      expect(events).toStrictEqual(expect.arrayContaining(others.map((o) => ({ session_id: o.sessionId, reason: 'mfa_removed' }))));
      const audits = await auditRows(t, { event: 'mfa_removed', userId: user.userId });
      expect(audits.map((a) => [a.session_id, a.details])).toStrictEqual([[user.sessionId, { reason: 'mfa_removed', revokedSessions: 2 }]]);
      // Not the last factor: the recovery codes stay.
      expect(await recoveryCodeHashes(t, user.userId)).toHaveLength(10);
      // Nobody else was touched.
      expect(await factorRows(t, stranger.userId)).toHaveLength(1);
      expect((await sessionRow(t, stranger.sessionId)).revoked_at).toBeNull();
    });

    it('removing the last factor voids the recovery codes', async () => {
      const user = await registerWithTotp(t);
      const passkey = await insertPasskeyFactor(t, user.userId);
      await removeFactorRequest(t, user.token, passkey).expect(200);
      expect(await recoveryCodeHashes(t, user.userId)).toHaveLength(10);
      await removeFactorRequest(t, user.token, user.factorId).expect(200);
      expect(await factorRows(t, user.userId)).toStrictEqual([]);
      expect(await recoveryCodeHashes(t, user.userId)).toStrictEqual([]);
      expect(await t.app.get(RecoveryCodesService).use(user.userId, user.recoveryCodes[0])).toBe(false);
      expect((await factorsRequest(t, user.token).expect(200)).body.data.factors).toStrictEqual([]);
    });

    it("answers one 404 for an unknown id, another user's factor, a pending factor, a removed one and a malformed id", async () => {
      const user = await registerWithTotp(t);
      const stranger = await registerWithTotp(t);
      const pending = (await enrolTotpRequest(t, user.token).expect(200)).body.data.factorId;
      const removed = await insertPasskeyFactor(t, user.userId);
      await removeFactorRequest(t, user.token, removed).expect(200);
      for (const id of ['3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10', stranger.factorId, pending, removed, 'nope', "1' OR '1'='1", '%00']) {
        expectNotFound(await removeFactorRequest(t, user.token, id));
      }
      expect(await factorRows(t, stranger.userId)).toHaveLength(1);
      expect((await factorRows(t, user.userId)).map((r) => r.id).sort()).toStrictEqual([user.factorId, pending].sort());
      // A refused removal ends nobody: only the successful one wrote an mfa_removed row.
      expect(await auditRows(t, { event: 'mfa_removed', userId: user.userId })).toHaveLength(1);
    });

    it.skipIf(lacks('postgres', 'two removals parked on the factor row locks'))(
      'two removals at once of the last two factors: the later one sees the earlier commit and voids the codes',
      async () => {
        const user = await registerWithTotp(t);
        const second = await loginWithCode(t, user, totpCode(user.secret));
        const passkey = await insertPasskeyFactor(t, user.userId);
        const lock = await holdRows(realPostgresUrl!, 'SELECT 1 FROM mfa_factors WHERE user_id = $1 ORDER BY id FOR UPDATE', [user.userId]);
        let answers;
        try {
          const racing = [removeFactorRequest(t, user.token, user.factorId), removeFactorRequest(t, second.token, passkey)].map((r) => Promise.resolve(r));
          await lockWaiters(realPostgresUrl!, '%WITH mine AS%', 2);
          await lock.release();
          answers = await Promise.all(racing);
        } finally {
          await lock.release();
        }
        expect(answers.map((r) => r.status)).toStrictEqual([200, 200]);
        expect(await factorRows(t, user.userId)).toStrictEqual([]);
        expect(await recoveryCodeHashes(t, user.userId)).toStrictEqual([]);
      },
    );
  });

  describe('POST /api/v1/auth/mfa/recovery-codes', () => {
    it('replaces every code with 10 new ones: the old ones stop working, audited as recovery_codes_replaced', async () => {
      const user = await registerWithTotp(t);
      const oldHashes = await recoveryCodeHashes(t, user.userId);
      const codes = t.app.get(RecoveryCodesService);
      expect(await codes.use(user.userId, user.recoveryCodes[0])).toBe(true);

      const res = await recoveryCodesRequest(t, user.token).expect(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Object.keys(res.body).sort()).toStrictEqual(['data', 'message', 'success']);
      expect(res.body.message).toBe(MFA.recoveryCodesReplaced);
      const fresh: string[] = res.body.data.recoveryCodes;
      expect(Object.keys(res.body.data)).toStrictEqual(['recoveryCodes']);
      expect(fresh).toHaveLength(10);
      for (const code of fresh) expect(code).toMatch(RECOVERY_CODE);
      expect(new Set([...fresh, ...user.recoveryCodes]).size).toBe(20);

      const newHashes = await recoveryCodeHashes(t, user.userId, true);
      expect(newHashes).toHaveLength(10);
      expect(newHashes.filter((h) => oldHashes.includes(h))).toStrictEqual([]);
      expect(await recoveryCodeHashes(t, user.userId)).toStrictEqual(newHashes);
      for (const old of user.recoveryCodes.slice(1, 3)) expect(await codes.use(user.userId, old)).toBe(false);
      expect(await codes.use(user.userId, fresh[0])).toBe(true);
      const audits = await auditRows(t, { event: 'recovery_codes_replaced', userId: user.userId });
      expect(audits.map((a) => [a.session_id, a.details])).toStrictEqual([[user.sessionId, { count: 10 }]]);
      expect(JSON.stringify(audits)).not.toContain(fresh[0]);
    });

    it('needs a factor proved within STEP_UP_MAX_AGE; the codes stay as they were', async () => {
      const user = await registerWithTotp(t);
      const hashes = await recoveryCodeHashes(t, user.userId);
      await ageAuthentication(t, user.sessionId, 301);
      expectStepUpRequired(await recoveryCodesRequest(t, user.token));
      expect(await recoveryCodeHashes(t, user.userId)).toStrictEqual(hashes);
      expect(await auditRows(t, { event: 'recovery_codes_replaced', userId: user.userId })).toStrictEqual([]);
    });

    it('refuses a user without a factor with 400: codes only stand in for a factor', async () => {
      const user = await registerAndLogin(t);
      const res = await recoveryCodesRequest(t, user.token);
      expectInvalidRequest(res);
      expect(res.body.errors).toStrictEqual([NO_FACTOR]);
      expect(await recoveryCodeHashes(t, user.userId)).toStrictEqual([]);
      // Nor after the last factor is gone.
      const gone = await registerWithTotp(t);
      await removeFactorRequest(t, gone.token, gone.factorId).expect(200);
      expect((await recoveryCodesRequest(t, gone.token)).body.errors).toStrictEqual([NO_FACTOR]);
      expect(await recoveryCodeHashes(t, gone.userId)).toStrictEqual([]);
    });
    it.skipIf(lacks('postgres', "a replacement parked on the factor a removal holds"))(
      'a replacement that reaches the factor while the removal of the last one holds it waits, then refuses: no codes outlive the factors',
      async () => {
        const user = await registerWithTotp(t);
        // The removal is held inside its transaction, the factor deleted and the codes voided, not committed.
        const held = holdNextCall(t.app.get(SessionsService), 'endAll');
        const removing = Promise.resolve(removeFactorRequest(t, user.token, user.factorId));
        await held.reached;
        const replacing = Promise.resolve(recoveryCodesRequest(t, user.token));
        await lockWaiters(realPostgresUrl!, '%FOR SHARE%', 1);
        held.release();

        expect((await removing).status).toBe(200);
        const refused = await replacing;
        expect(refused.status).toBe(400);
        expect(refused.body.errors).toStrictEqual([NO_FACTOR]);
        expect(await recoveryCodeHashes(t, user.userId)).toStrictEqual([]);
      },
    );
  });

  describe('DELETE /admin/v1/users/:id/factors', () => {
    it('removes every factor (pending ones too) and recovery code, ends every session (mfa_reset), audited with the admin token’s fingerprint', async () => {
      const user = await registerWithTotp(t);
      await insertPasskeyFactor(t, user.userId);
      await enrolTotpRequest(t, user.token).expect(200);
      const other = await loginWithCode(t, user, totpCode(user.secret));
      const stranger = await registerWithTotp(t);

      const res = await admin().delete(`/admin/v1/users/${user.userId}/factors`).set(asAdmin).expect(200);
      expect(res.body).toStrictEqual({ success: true, message: 'Factores eliminados', data: { revokedSessions: 2 } });
      expect(await factorRows(t, user.userId)).toStrictEqual([]);
      expect(await recoveryCodeHashes(t, user.userId)).toStrictEqual([]);
      expect((await sessionRows(t, user.userId)).map((r) => r.ended_reason)).toStrictEqual(['mfa_reset', 'mfa_reset']);
      for (const token of [user.token, other.token]) expect((await meRequest(t, token)).status).toBe(401);
      const events = await endedEvents(t, [user.sessionId, other.sessionId]);
      expect(events).toStrictEqual(expect.arrayContaining([{ session_id: user.sessionId, reason: 'mfa_reset' }, { session_id: other.sessionId, reason: 'mfa_reset' }]));
      expect(events).toHaveLength(2);
      expect((await auditRows(t, { event: 'mfa_reset', userId: user.userId })).map((a) => [a.session_id, a.details])).toStrictEqual([
        [null, { reason: 'mfa_reset', revokedSessions: 2 }],
      ]);
      expect((await auditRows(t, { event: 'admin_action', userId: user.userId })).map((a) => a.details)).toStrictEqual([
        { action: 'reset_factors', admin: fingerprint(ADMIN_TOKEN), removedFactors: 3, revokedSessions: 2 },
      ]);
      expect(JSON.stringify(await t.dataSource.query('SELECT * FROM audit_events WHERE user_id = $1', [user.userId]))).not.toContain(ADMIN_TOKEN);
      // Nobody else was touched.
      expect(await factorRows(t, stranger.userId)).toHaveLength(1);
      expect(await recoveryCodeHashes(t, stranger.userId)).toHaveLength(10);
      await meRequest(t, stranger.token).expect(200);
      // The user signs in again with the password alone.
      const again = await login(t, user.email, user.password);
      expect((await meRequest(t, again.token).expect(200)).body.data.amr).toStrictEqual(['pwd']);
    });

    it('answers 404 for an unknown or malformed id; 401 without an admin token', async () => {
      for (const id of ['3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10', 'nope']) {
        const res = await admin().delete(`/admin/v1/users/${id}/factors`).set(asAdmin);
        expect(res.status).toBe(404);
        expect(res.text).toBe(NOT_FOUND_BODY);
      }
      const user = await registerWithTotp(t);
      expect((await admin().delete(`/admin/v1/users/${user.userId}/factors`).set({ Authorization: `Bearer ${user.token}` })).status).toBe(401);
      expect(await factorRows(t, user.userId)).toHaveLength(1);
    });
  });
});
