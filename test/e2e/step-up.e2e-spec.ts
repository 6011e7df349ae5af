import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_NOT_ENOUGH } from '../../src/factors/step-up.service.js';
import { ONE_STEP_UP_PROOF } from '../../src/mfa/dto/second-factor.dto.js';
import { SecondFactorService } from '../../src/factors/second-factor.service.js';
import { startApp, type TestApp } from '../support/app.js';
import { expectInvalidRequest, expectInvalidToken, expectTooMany } from '../support/expectations.js';
import { holdNextCall } from '../support/hold.js';
import { BAD_CREDENTIALS_BODY, envelope, MESSAGES } from '../support/messages.js';
import { loginMfaRequest, mfaTokenOf, registerWithTotp, stepUpRequest } from '../support/mfa.js';
import { INVALID_CODE_BODY, stepUpChallenge } from '../support/mfa-messages.js';
import { API, bearer, logoutRequest, meRequest, passwordRequest } from '../support/requests.js';
import { auditRows } from '../support/rows.js';
import { inOneStep, totpCode } from '../support/totp.js';
import { registerAndLogin } from '../support/users.js';

// RFC 9470: routes that change how an account is protected need a recent proof on this session.
// POST /step-up gives one, to this session only.

const STEPPED_UP = 'Autenticación confirmada';
const STALE_BODY = envelope('Se requiere autenticación reciente');

describe('step-up', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  /** The session's last proof moved back past STEP_UP_MAX_AGE. */
  const makeStale = (sessionId: string, seconds = 301) =>
    t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - make_interval(secs => $2) WHERE id = $1`, [sessionId, seconds]);
  const deleteAccount = (token: string, password: string) => t.http().delete(`${API}/account`).set(bearer(token)).send({ password });
  const changePassword = (token: string, password: string) => passwordRequest(t, token, { currentPassword: password, newPassword: 'a-new-password-1' });

  function expectStepUpRequired(res: { status: number; text: string; headers: Record<string, string> }, maxAge = 300) {
    expect(res.status).toBe(401);
    expect(res.text).toBe(STALE_BODY);
    expect(res.headers['www-authenticate']).toBe(stepUpChallenge(maxAge));
  }

  it('with a factor and a stale session, a password change answers 401 with the RFC 9470 challenge; after a code, 200', async () => {
    const user = await registerWithTotp(t);
    await makeStale(user.sessionId);
    expectStepUpRequired(await changePassword(user.token, user.password));

    await inOneStep();
    const res = await stepUpRequest(t, user.token, { code: totpCode(user.secret) }).expect(200);
    expect(res.body).toStrictEqual({ success: true, message: STEPPED_UP, data: { amr: ['pwd', 'otp'], authenticatedAt: expect.any(String) } });
    expect(Date.now() - Date.parse(res.body.data.authenticatedAt)).toBeLessThan(10_000);
    expect((await meRequest(t, user.token).expect(200)).body.data.authenticatedAt).toBe(res.body.data.authenticatedAt);
    const [audit] = await auditRows(t, { event: 'step_up', sessionId: user.sessionId });
    expect(audit.details).toStrictEqual({ method: 'totp' });

    const changed = await changePassword(user.token, user.password).expect(200);
    expect(changed.body.message).toBe(MESSAGES.passwordChanged);
  });

  it('raises this session only: another session of the user stays stale', async () => {
    const user = await registerWithTotp(t);
    await inOneStep();
    const other = (await loginMfaRequest(t, { mfaToken: await mfaTokenOf(t, user.email, user.password), code: totpCode(user.secret) }).expect(200)).body.data;
    await makeStale(user.sessionId);
    await makeStale(other.sessionId);
    await stepUpRequest(t, user.token, { code: totpCode(user.secret, 1) }).expect(200);
    expectStepUpRequired(await deleteAccount(other.accessToken, user.password));
    const [mine, theirs] = await Promise.all([meRequest(t, user.token), meRequest(t, other.accessToken)]);
    expect(Date.parse(mine.body.data.authenticatedAt)).toBeGreaterThan(Date.parse(theirs.body.data.authenticatedAt) + 300_000);
  });

  it('account deletion with a factor: stale 401 with the challenge; a recovery code steps up (spent), then 200', async () => {
    const user = await registerWithTotp(t);
    await makeStale(user.sessionId);
    expectStepUpRequired(await deleteAccount(user.token, user.password));
    const res = await stepUpRequest(t, user.token, { recoveryCode: user.recoveryCodes[0] }).expect(200);
    expect(res.body.data.amr).toStrictEqual(['pwd', 'otp']);
    expect((await auditRows(t, { event: 'step_up', sessionId: user.sessionId })).map((r) => r.details)).toStrictEqual([{ method: 'recovery_code' }]);
    expect((await stepUpRequest(t, user.token, { recoveryCode: user.recoveryCodes[0] })).text).toBe(INVALID_CODE_BODY);
    await deleteAccount(user.token, user.password).expect(200);
  });

  it('without factors, a stale session changes its password and deletes its account with the password alone', async () => {
    const user = await registerAndLogin(t);
    await makeStale(user.sessionId);
    await changePassword(user.token, user.password).expect(200);
    const other = await registerAndLogin(t);
    await makeStale(other.sessionId);
    await deleteAccount(other.token, other.password).expect(200);
  });

  it('without factors, the password steps up (pwd); a wrong one answers 401 Credenciales inválidas; a code proves nothing', async () => {
    const user = await registerAndLogin(t);
    await makeStale(user.sessionId);
    const wrong = await stepUpRequest(t, user.token, { password: 'not-the-password' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toBe(BAD_CREDENTIALS_BODY);
    expect(wrong.headers['www-authenticate']).toBeUndefined();
    expect((await stepUpRequest(t, user.token, { code: '123456' })).text).toBe(INVALID_CODE_BODY);
    const res = await stepUpRequest(t, user.token, { password: user.password }).expect(200);
    expect(res.body.data.amr).toStrictEqual(['pwd']);
    expect((await auditRows(t, { event: 'step_up', sessionId: user.sessionId })).map((r) => r.details)).toStrictEqual([{ method: 'password' }]);
    expect((await auditRows(t, { event: 'mfa_failed', userId: user.userId })).map((r) => r.details)).toStrictEqual([
      { method: 'password', stage: 'step_up' },
      { method: 'totp', stage: 'step_up' },
    ]);
  });

  it('with a factor, a password is not a proof: 400; a wrong code 401, audited', async () => {
    const user = await registerWithTotp(t);
    const res = await stepUpRequest(t, user.token, { password: user.password });
    expectInvalidRequest(res);
    expect(res.body.errors).toStrictEqual([PASSWORD_NOT_ENOUGH]);
    await inOneStep();
    const wrong = await stepUpRequest(t, user.token, { code: totpCode(user.secret, 5) });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toBe(INVALID_CODE_BODY);
    expect((await auditRows(t, { event: 'mfa_failed', userId: user.userId })).map((r) => r.details)).toStrictEqual([{ method: 'totp', stage: 'step_up' }]);
  });

  it('exactly one proof, and a live session: 400 for none or two, 401 without a token', async () => {
    const user = await registerWithTotp(t);
    for (const body of [{}, { code: '123456', password: 'x' }, { code: '123456', recoveryCode: 'x' }]) {
      const res = await stepUpRequest(t, user.token, body);
      expectInvalidRequest(res);
      expect(res.body.errors).toStrictEqual([ONE_STEP_UP_PROOF]);
    }
    expectInvalidToken(await t.http().post(`${API}/step-up`).send({ code: '123456' }));
    await logoutRequest(t, user.token).expect(200);
    expectInvalidToken(await stepUpRequest(t, user.token, { code: '123456' }));
  });

  it('a session ended while its step-up is in flight is not raised: 401, and no step_up row', async () => {
    const user = await registerWithTotp(t);
    await inOneStep();
    // Held after the guard found the session live, before the proof is checked.
    const held = holdNextCall(t.app.get(SecondFactorService), 'prove');
    const inFlight = Promise.resolve(stepUpRequest(t, user.token, { code: totpCode(user.secret) }));
    await held.reached;
    await logoutRequest(t, user.token).expect(200);
    held.release();
    expectInvalidToken(await inFlight);
    expect(await auditRows(t, { event: 'step_up', sessionId: user.sessionId })).toStrictEqual([]);
  });
});

describe('step-up, STEP_UP_MAX_AGE and the per-user limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ STEP_UP_MAX_AGE: '120', THROTTLE_LOGIN_LIMIT: '2', TRUST_PROXY: '1' });
  });
  afterAll(() => t.close());

  it('max_age follows STEP_UP_MAX_AGE', async () => {
    const user = await registerWithTotp(t);
    await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - interval '121 seconds' WHERE id = $1`, [user.sessionId]);
    const res = await passwordRequest(t, user.token, { currentPassword: user.password, newPassword: 'a-new-password-1' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(stepUpChallenge(120));
  });

  it('wrong proofs count per user: past the login limit, 429 with Retry-After even for the right code', async () => {
    const user = await registerWithTotp(t);
    await inOneStep();
    for (let i = 0; i < 2; i++) expect((await stepUpRequest(t, user.token, { code: totpCode(user.secret, 5) }).set('X-Forwarded-For', `198.18.0.${i + 1}`)).text).toBe(INVALID_CODE_BODY);
    expectTooMany(await stepUpRequest(t, user.token, { code: totpCode(user.secret) }).set('X-Forwarded-For', '198.18.0.9'));
  });
});

