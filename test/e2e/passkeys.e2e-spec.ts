import { setTimeout as sleep } from 'node:timers/promises';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSKEY_ERRORS } from '../../src/factors/passkeys.service.js';
import { realPostgresUrl, startApp, type HttpClient, type TestApp } from '../support/app.js';
import { expectInvalidRequest, expectNothingInternal } from '../support/expectations.js';
import { BAD_CREDENTIALS_BODY, envelope, MESSAGES } from '../support/messages.js';
import { INVALID_CODE_BODY, MFA, STEP_UP_BODY, stepUpChallenge } from '../support/mfa-messages.js';
import { API, bearer, meRequest } from '../support/requests.js';
import { lacks } from '../support/requirements.js';
import { holdRows } from '../support/row-locks.js';
import { auditRows, type Db, sessionRow } from '../support/rows.js';
import { type Ceremony, SoftAuthenticator } from '../support/soft-authenticator.js';
import { login, type LoggedIn, register, registerAndLogin } from '../support/users.js';

// Passkeys (WebAuthn Level 3) against a software authenticator: registration under step-up, the
// first factor's recovery codes and the sessions it ends, passwordless login and every refusal.

const PASSKEYS = `${API}/passkeys`;
const ORIGIN = 'http://localhost:3000';
const OPTIONS_MESSAGE = 'Opciones de llave de acceso';
const REGISTERED = 'Llave de acceso registrada';
const LOCKED_BODY = envelope('La cuenta está bloqueada');

const registerOptions = (t: HttpClient, token: string) => t.http().post(`${PASSKEYS}/register/options`).set(bearer(token)).send({});
const loginOptions = (t: HttpClient) => t.http().post(`${PASSKEYS}/login/options`).send({});
const passkeyLogin = (t: HttpClient, credential: unknown) => t.http().post(`${PASSKEYS}/login`).send({ credential });

/** Registers a passkey of `auth` for the logged-in user, whatever the answer. */
async function registerWith(t: HttpClient, user: LoggedIn, auth: SoftAuthenticator, c: Ceremony = {}, name?: string) {
  const options = (await registerOptions(t, user.token).expect(200)).body.data;
  const { passkey, json } = auth.create(options, c);
  const res = await t.http().post(`${PASSKEYS}/register`).set(bearer(user.token)).send({ credential: json, ...(name && { name }) });
  return { res, passkey, options };
}

/** A user with one passkey registered (200), and the authenticator that holds it. */
async function userWithPasskey(t: HttpClient, authOptions: ConstructorParameters<typeof SoftAuthenticator>[0] = {}) {
  const user = await registerAndLogin(t);
  const auth = new SoftAuthenticator(authOptions);
  const { res, passkey } = await registerWith(t, user, auth);
  expect(res.status).toBe(200);
  return { user, auth, passkey, factorId: res.body.data.factorId as string };
}

/** A passwordless login by `auth`, whatever the answer. */
async function loginWith(t: HttpClient, auth: SoftAuthenticator, c: Ceremony = {}) {
  const options = (await loginOptions(t).expect(200)).body.data;
  return passkeyLogin(t, auth.get(options, c));
}

const factorRow = async (t: Db, id: string) => (await t.dataSource.query('SELECT * FROM mfa_factors WHERE id = $1', [id]))[0];
const challengeRows = (t: Db, challenge: string) => t.dataSource.query('SELECT * FROM mfa_challenges WHERE challenge = $1', [challenge]);

function expectRefused(res: Response, error: string) {
  expectInvalidRequest(res);
  expect(res.body.errors).toEqual([error]);
}

function expectOk(res: Response) {
  expect(res.status).toBe(200);
  expect(res.body.message).toBe(MESSAGES.loggedIn);
}

function expectBadCredentials(res: Response) {
  expect(res.status).toBe(401);
  expect(res.text).toBe(BAD_CREDENTIALS_BODY);
  expect(res.headers['www-authenticate']).toBeUndefined();
}

describe('passkeys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: ORIGIN });
  });
  afterAll(() => t.close());

  describe('POST /passkeys/register/options', () => {
    it('answers creation options: resident key required, user verification preferred, the challenge stored for this user and session', async () => {
      const user = await registerAndLogin(t);
      const res = await registerOptions(t, user.token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, message: OPTIONS_MESSAGE });
      const options = res.body.data;
      expect(options).toMatchObject({
        rp: { id: 'localhost', name: 'auth-backend' },
        user: { name: user.email, displayName: user.email, id: Buffer.from(user.userId.replace(/-/g, ''), 'hex').toString('base64url') },
        attestation: 'none',
        authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
        excludeCredentials: [],
        timeout: 300_000,
      });
      expect(options.pubKeyCredParams).toContainEqual({ alg: -7, type: 'public-key' });
      const [row] = await challengeRows(t, options.challenge);
      expect(row).toMatchObject({ kind: 'passkey_register', user_id: user.userId, session_id: user.sessionId });
      const ttl = (row.expires_at.getTime() - row.created_at.getTime()) / 1000;
      expect(ttl).toBeCloseTo(300, 0);
    });

    it("lists the user's passkeys in excludeCredentials", async () => {
      const { user, passkey } = await userWithPasskey(t);
      const options = (await registerOptions(t, user.token).expect(200)).body.data;
      expect(options.excludeCredentials).toEqual([{ id: passkey.id, type: 'public-key', transports: ['internal'] }]);
    });

    it('needs a recent proof: a session authenticated long ago gets 401 with the RFC 9470 challenge', async () => {
      const user = await registerAndLogin(t);
      await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - interval '1 hour' WHERE id = $1`, [user.sessionId]);
      const res = await registerOptions(t, user.token);
      expect(res.status).toBe(401);
      expect(res.text).toBe(STEP_UP_BODY);
      expect(res.headers['www-authenticate']).toBe(stepUpChallenge(300));
    });

    it('needs a bearer token', async () => {
      const res = await t.http().post(`${PASSKEYS}/register/options`).send({});
      expect(res.status).toBe(401);
    });
  });

  describe('POST /passkeys/register', () => {
    it("the first factor: 200, recovery codes, the factor row, every other session ended (mfa_enabled), this one raised with hwk", async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      const auth = new SoftAuthenticator();
      const { res, passkey } = await registerWith(t, user, auth, {}, 'Portátil');

      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['data', 'message', 'success']);
      expect(res.body.message).toBe(REGISTERED);
      expect(Object.keys(res.body.data).sort()).toEqual(['factorId', 'recoveryCodes']);
      expect(res.body.data.recoveryCodes).toHaveLength(10);
      expect(new Set(res.body.data.recoveryCodes).size).toBe(10);

      const row = await factorRow(t, res.body.data.factorId);
      expect(row).toMatchObject({
        user_id: user.userId,
        type: 'webauthn',
        name: 'Portátil',
        credential_id: passkey.id,
        sign_count: '0',
        transports: ['internal'],
        backup_eligible: false,
        backed_up: false,
        last_used_at: null,
        totp_secret: null,
      });
      expect(row.confirmed_at).toBeInstanceOf(Date);
      expect(row.public_key).toBeInstanceOf(Buffer);

      const ended = await sessionRow(t, other.sessionId);
      expect(ended.revoked_at).toBeInstanceOf(Date);
      expect(ended.ended_reason).toBe('mfa_enabled');
      expect((await meRequest(t, other.token)).status).toBe(401);
      const me = await meRequest(t, user.token).expect(200);
      expect(me.body.data.amr).toEqual(['pwd', 'hwk']);
      expect(await auditRows(t, { event: 'mfa_enabled', userId: user.userId })).toHaveLength(1);
      const codes = await t.dataSource.query('SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1', [user.userId]);
      expect(codes[0].n).toBe(10);
    });

    it('a second passkey: no recovery codes, and the default name', async () => {
      const { user } = await userWithPasskey(t);
      const { res } = await registerWith(t, user, new SoftAuthenticator());
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.data)).toEqual(['factorId']);
      expect((await factorRow(t, res.body.data.factorId)).name).toBe('Llave de acceso');
    });

    it('stores the backup flags', async () => {
      const { factorId } = await userWithPasskey(t, { backupEligible: true, backedUp: true });
      expect(await factorRow(t, factorId)).toMatchObject({ backup_eligible: true, backed_up: true });
    });

    it('needs a recent proof: 401 with the RFC 9470 challenge, nothing stored', async () => {
      const user = await registerAndLogin(t);
      const options = (await registerOptions(t, user.token).expect(200)).body.data;
      await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - interval '1 hour' WHERE id = $1`, [user.sessionId]);
      const { json } = new SoftAuthenticator().create(options);
      const res = await t.http().post(`${PASSKEYS}/register`).set(bearer(user.token)).send({ credential: json });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(stepUpChallenge(300));
      expect(await t.dataSource.query('SELECT id FROM mfa_factors WHERE user_id = $1', [user.userId])).toEqual([]);
    });

    it("refuses a challenge given to another session of the user, or to another user", async () => {
      const user = await registerAndLogin(t);
      const other = await login(t, user.email, user.password);
      const options = (await registerOptions(t, other.token).expect(200)).body.data;
      const { json } = new SoftAuthenticator().create(options);
      expectRefused(await t.http().post(`${PASSKEYS}/register`).set(bearer(user.token)).send({ credential: json }), PASSKEY_ERRORS.challenge);

      const stranger = await registerAndLogin(t);
      const theirs = (await registerOptions(t, stranger.token).expect(200)).body.data;
      const forged = new SoftAuthenticator().create(theirs).json;
      expectRefused(await t.http().post(`${PASSKEYS}/register`).set(bearer(user.token)).send({ credential: forged }), PASSKEY_ERRORS.challenge);
    });

    it('uses a challenge once', async () => {
      const user = await registerAndLogin(t);
      const options = (await registerOptions(t, user.token).expect(200)).body.data;
      const auth = new SoftAuthenticator();
      const first = auth.create(options).json;
      await t.http().post(`${PASSKEYS}/register`).set(bearer(user.token)).send({ credential: first }).expect(200);
      expect(await challengeRows(t, options.challenge)).toEqual([]);
      const again = auth.create(options).json;
      expectRefused(await t.http().post(`${PASSKEYS}/register`).set(bearer(user.token)).send({ credential: again }), PASSKEY_ERRORS.challenge);
    });

    it('refuses a wrong origin and a wrong RP ID: 400 naming it, nothing stored', async () => {
      const user = await registerAndLogin(t);
      const origin = await registerWith(t, user, new SoftAuthenticator(), { origin: 'https://evil.example' });
      expectRefused(origin.res, PASSKEY_ERRORS.origin);
      const rpId = await registerWith(t, user, new SoftAuthenticator(), { rpId: 'evil.example' });
      expectRefused(rpId.res, PASSKEY_ERRORS.rpId);
      expect(await t.dataSource.query('SELECT id FROM mfa_factors WHERE user_id = $1', [user.userId])).toEqual([]);
    });

    it('refuses a credential registered already', async () => {
      const { user, auth, passkey } = await userWithPasskey(t);
      const options = (await registerOptions(t, user.token).expect(200)).body.data;
      // The same credential again, as an authenticator that ignored excludeCredentials would answer.
      const { json } = auth.create(options, { passkey });
      const res = await t.http().post(`${PASSKEYS}/register`).set(bearer(user.token)).send({ credential: json });
      expectRefused(res, PASSKEY_ERRORS.duplicate);
      expect(await t.dataSource.query('SELECT id FROM mfa_factors WHERE user_id = $1', [user.userId])).toHaveLength(1);
    });

    it('refuses malformed bodies with 400 in Spanish, never a library message', async () => {
      const user = await registerAndLogin(t);
      const send = (body: unknown) => t.http().post(`${PASSKEYS}/register`).set(bearer(user.token)).send(body as object);
      expect((await send({})).body.errors).toEqual(['credential es obligatorio', 'credential debe ser un objeto']);
      expectRefused(await send({ credential: { id: 'x' } }), PASSKEY_ERRORS.malformed);
      expectRefused(await send({ credential: { id: 'abc', rawId: 'abc', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'AA' } } }), PASSKEY_ERRORS.challenge);
      expectRefused(
        await send({ credential: { id: 'abc', rawId: 'abc', type: 'public-key', response: { clientDataJSON: '!!!', attestationObject: 'AA' } } }),
        PASSKEY_ERRORS.malformed,
      );
      // A real challenge with a broken attestation object.
      const options = (await registerOptions(t, user.token).expect(200)).body.data;
      const { json } = new SoftAuthenticator().create(options);
      const broken = { ...json, response: { ...json.response, attestationObject: 'oWNmbXRkbm9uZQ' } };
      expectRefused(await send({ credential: broken }), PASSKEY_ERRORS.attestation);
      expectInvalidRequest(await send({ credential: json, name: '' }));
    });
  });

  describe('POST /passkeys/step-up/options', () => {
    it("answers request options for the user's own passkeys; the challenge is stored for this user (passkey_verify, 300 s)", async () => {
      const { user, passkey } = await userWithPasskey(t);
      const res = await t.http().post(`${PASSKEYS}/step-up/options`).set(bearer(user.token)).send({});
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, message: OPTIONS_MESSAGE });
      expect(res.body.data).toMatchObject({
        rpId: 'localhost',
        userVerification: 'preferred',
        timeout: 300_000,
        allowCredentials: [{ id: passkey.id, type: 'public-key', transports: ['internal'] }],
      });
      const [row] = await challengeRows(t, res.body.data.challenge);
      expect(row).toMatchObject({ kind: 'passkey_verify', user_id: user.userId });
      expect((row.expires_at.getTime() - row.created_at.getTime()) / 1000).toBeCloseTo(300, 0);
    });

    it('a user without passkeys: 400 saying so', async () => {
      const user = await registerAndLogin(t);
      expectRefused(await t.http().post(`${PASSKEYS}/step-up/options`).set(bearer(user.token)).send({}), PASSKEY_ERRORS.none);
    });

    it('its challenge does not open a passwordless login', async () => {
      const { user, auth } = await userWithPasskey(t);
      const options = (await t.http().post(`${PASSKEYS}/step-up/options`).set(bearer(user.token)).send({}).expect(200)).body.data;
      expectRefused(await passkeyLogin(t, auth.get(options)), PASSKEY_ERRORS.challenge);
    });
  });

  describe('POST /passkeys/login/options', () => {
    it('answers request options for discoverable passkeys; the challenge is stored for nobody, valid 300 s', async () => {
      const res = await loginOptions(t);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ success: true, message: OPTIONS_MESSAGE });
      expect(res.body.data).toMatchObject({ rpId: 'localhost', userVerification: 'preferred', timeout: 300_000 });
      expect(res.body.data.allowCredentials ?? []).toEqual([]);
      const [row] = await challengeRows(t, res.body.data.challenge);
      expect(row).toMatchObject({ kind: 'passkey_login', user_id: null, session_id: null });
      expect((row.expires_at.getTime() - row.created_at.getTime()) / 1000).toBeCloseTo(300, 0);
    });
  });

  describe('POST /passkeys/login', () => {
    it('logs in with amr ["hwk","user"]: tokens like a login, the counter and last use stored, the challenge spent', async () => {
      const { user, auth, factorId } = await userWithPasskey(t);
      const options = (await loginOptions(t).expect(200)).body.data;
      const res = await passkeyLogin(t, auth.get(options));
      expect(res.status).toBe(200);
      expect(res.body.message).toBe(MESSAGES.loggedIn);
      expect(Object.keys(res.body.data).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'sessionId', 'tokenType']);
      const me = await meRequest(t, res.body.data.accessToken).expect(200);
      expect(me.body.data).toMatchObject({ id: user.userId, email: user.email, amr: ['hwk', 'user'] });
      expect((await sessionRow(t, res.body.data.sessionId)).amr).toEqual(['hwk', 'user']);
      const row = await factorRow(t, factorId);
      expect(row.sign_count).toBe('1');
      expect(row.last_used_at).toBeInstanceOf(Date);
      expect(await challengeRows(t, options.challenge)).toEqual([]);
      const [audit] = await auditRows(t, { event: 'login', sessionId: res.body.data.sessionId });
      expect(audit.details).toEqual({ amr: ['hwk', 'user'] });
    });

    it('does not log in with a passkey alone when the authenticator did not verify the user: 401, audited', async () => {
      const { user, auth } = await userWithPasskey(t);
      expectBadCredentials(await loginWith(t, auth, { uv: false }));
      const [failed] = await auditRows(t, { event: 'login_failed', userId: user.userId });
      expect(failed.details).toEqual({ email: user.email, reason: 'passkey_user_not_verified' });
      expectOk(await loginWith(t, auth));
    });

    it('refuses a counter that did not grow, and keeps the stored one', async () => {
      const { auth, passkey, factorId } = await userWithPasskey(t);
      expectOk(await loginWith(t, auth, { counter: 5 }));
      expectBadCredentials(await loginWith(t, auth, { counter: 5 }));
      expectBadCredentials(await loginWith(t, auth, { counter: 3 }));
      expectBadCredentials(await loginWith(t, auth, { counter: 0 }));
      expect((await factorRow(t, factorId)).sign_count).toBe('5');
      expectOk(await loginWith(t, auth, { counter: 6, passkey }));
      expect((await factorRow(t, factorId)).sign_count).toBe('6');
    });

    it('lets a backed-up passkey that reports 0 through, also after a counter was stored', async () => {
      const { auth, factorId } = await userWithPasskey(t, { backupEligible: true, backedUp: true, counts: false });
      expectOk(await loginWith(t, auth));
      expectOk(await loginWith(t, auth));
      expectOk(await loginWith(t, auth, { counter: 9 }));
      expectOk(await loginWith(t, auth, { counter: 0 }));
      expect(await factorRow(t, factorId)).toMatchObject({ sign_count: '9', backed_up: true });
      // No longer backed up: the counter rule holds again.
      expectBadCredentials(await loginWith(t, auth, { counter: 0, bs: false }));
      expect((await factorRow(t, factorId)).backed_up).toBe(true);
      expectOk(await loginWith(t, auth, { counter: 10, bs: false }));
      expect((await factorRow(t, factorId)).backed_up).toBe(false);
    });

    it.skipIf(lacks('postgres', 'two assertions held at the counter update'))('of two simultaneous assertions with one counter, exactly one logs in', async () => {
      const { auth, factorId } = await userWithPasskey(t);
      const [first, second] = [(await loginOptions(t).expect(200)).body.data, (await loginOptions(t).expect(200)).body.data];
      const held = await holdRows(realPostgresUrl!, 'SELECT 1 FROM mfa_factors WHERE id = $1 FOR UPDATE', [factorId]);
      try {
        const answers = Promise.all([passkeyLogin(t, auth.get(first, { counter: 1 })), passkeyLogin(t, auth.get(second, { counter: 1 }))]);
        // Both read counter 0 and passed every check: both wait at the compare-and-set.
        for (const deadline = Date.now() + 10_000; ; await sleep(20)) {
          await held.also('SELECT pg_stat_clear_snapshot()', []);
          const { rows } = await held.also(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE mfa_factors SET sign_count%'`,
            [],
          );
          if (rows[0].n === 2) break;
          if (Date.now() > deadline) throw new Error('the two assertions did not both reach the counter update');
        }
        await held.release();
        const statuses = (await answers).map((r) => r.status).sort();
        expect(statuses).toEqual([200, 401]);
      } finally {
        await held.release();
      }
      expect((await factorRow(t, factorId)).sign_count).toBe('1');
    });

    it.skipIf(lacks('postgres', 'a passkey login held after the user was read'))(
      'an end of all sessions committed after the passkey was read overtakes the login: 401, no session',
      async () => {
        const { user, auth, factorId } = await userWithPasskey(t);
        const options = (await loginOptions(t).expect(200)).body.data;
        const held = await holdRows(realPostgresUrl!, 'SELECT 1 FROM mfa_factors WHERE id = $1 FOR UPDATE', [factorId]);
        let answer: Promise<Response>;
        try {
          answer = passkeyLogin(t, auth.get(options)).then((r) => r);
          // The user and its session epoch are read; the login waits at the counter's compare-and-set.
          await held.blocked();
          await t.http().post(`${API}/logout`).set(bearer(user.token)).send({ scope: 'all' }).expect(200);
        } finally {
          await held.release();
        }
        expectBadCredentials(await answer);
        expect(await t.dataSource.query('SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [user.userId])).toEqual([]);
      },
    );

    it('uses a challenge once: the same assertion again is 400', async () => {
      const { auth } = await userWithPasskey(t);
      const options = (await loginOptions(t).expect(200)).body.data;
      const assertion = auth.get(options);
      await passkeyLogin(t, assertion).expect(200);
      expectRefused(await passkeyLogin(t, assertion), PASSKEY_ERRORS.challenge);
      // Even with a counter that would pass.
      expectRefused(await passkeyLogin(t, auth.get(options)), PASSKEY_ERRORS.challenge);
    });

    it('refuses an expired challenge, and one never given', async () => {
      const { auth } = await userWithPasskey(t);
      const options = (await loginOptions(t).expect(200)).body.data;
      await t.dataSource.query(`UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE challenge = $1`, [options.challenge]);
      expectRefused(await passkeyLogin(t, auth.get(options)), PASSKEY_ERRORS.challenge);
      expectRefused(await passkeyLogin(t, auth.get({ challenge: Buffer.from('made up').toString('base64url') })), PASSKEY_ERRORS.challenge);
    });

    it('refuses a registration challenge or a second-step challenge for a passwordless login', async () => {
      const { user, auth } = await userWithPasskey(t);
      const options = (await registerOptions(t, user.token).expect(200)).body.data;
      expectRefused(await passkeyLogin(t, auth.get({ challenge: options.challenge })), PASSKEY_ERRORS.challenge);
    });

    it('refuses a wrong origin and a wrong RP ID: 400 naming it, the challenge spent, the counter kept', async () => {
      const { auth, factorId } = await userWithPasskey(t);
      const options = (await loginOptions(t).expect(200)).body.data;
      expectRefused(await passkeyLogin(t, auth.get(options, { origin: 'https://evil.example' })), PASSKEY_ERRORS.origin);
      expect(await challengeRows(t, options.challenge)).toEqual([]);
      expectRefused(await loginWith(t, auth, { rpId: 'evil.example' }), PASSKEY_ERRORS.rpId);
      expect((await factorRow(t, factorId)).sign_count).toBe('0');
    });

    it('an unknown passkey: 401', async () => {
      const auth = new SoftAuthenticator();
      auth.create({ challenge: 'x', rp: { id: 'localhost' }, user: { id: 'AAAA' } });
      expectBadCredentials(await loginWith(t, auth));
    });

    it('a bad signature, or a user handle that is not the passkey user: 401', async () => {
      const { auth, passkey } = await userWithPasskey(t);
      const options = (await loginOptions(t).expect(200)).body.data;
      const assertion = auth.get(options);
      const tampered = { ...assertion, response: { ...assertion.response, signature: auth.get({ challenge: 'other' }).response.signature } };
      expectBadCredentials(await passkeyLogin(t, tampered));
      const { user: other } = await userWithPasskey(t);
      passkey.userHandle = Buffer.from(other.userId.replace(/-/g, ''), 'hex').toString('base64url');
      expectBadCredentials(await loginWith(t, auth));
      expectOk(await loginWith(t, auth, { noUserHandle: true }));
    });

    it('a locked account: 403 after the assertion checked', async () => {
      const { user, auth } = await userWithPasskey(t);
      await t.dataSource.query('UPDATE users SET locked_at = now() WHERE id = $1', [user.userId]);
      const res = await loginWith(t, auth);
      expect(res.status).toBe(403);
      expect(res.text).toBe(LOCKED_BODY);
    });

    it('refuses malformed bodies with 400 in Spanish', async () => {
      const none = await t.http().post(`${PASSKEYS}/login`).send({});
      expectInvalidRequest(none);
      expect(none.body.errors).toEqual(['credential es obligatorio', 'credential debe ser un objeto']);
      expectRefused(await passkeyLogin(t, { id: 'abc', rawId: 'abc', type: 'public-key', response: {} }), PASSKEY_ERRORS.malformed);
      expectRefused(await passkeyLogin(t, { id: 'abc', rawId: 'abd', type: 'public-key', response: {} }), PASSKEY_ERRORS.malformed);
      const { auth } = await userWithPasskey(t);
      const options = (await loginOptions(t).expect(200)).body.data;
      const assertion = auth.get(options);
      const broken = { ...assertion, response: { ...assertion.response, authenticatorData: 'AAAA' } };
      const res = await passkeyLogin(t, broken);
      expectRefused(res, PASSKEY_ERRORS.malformed);
      expectNothingInternal(res);
    });
  });
});

describe('passkeys: cookie mode and REQUIRE_EMAIL_VERIFICATION', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: ORIGIN, REFRESH_TOKEN_COOKIE: 'true', REQUIRE_EMAIL_VERIFICATION: 'true' });
  });
  afterAll(() => t.close());

  async function verifiedUserWithPasskey() {
    const { email, password, userId } = await register(t);
    await t.dataSource.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [userId]);
    const session = await login(t, email, password);
    const auth = new SoftAuthenticator();
    const { res } = await registerWith(t, { email, password, userId, ...session }, auth);
    expect(res.status).toBe(200);
    return { userId, auth };
  }

  it('answers the refresh token as the cookie', async () => {
    const { auth } = await verifiedUserWithPasskey();
    const res = await loginWith(t, auth);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data).sort()).toEqual(['accessToken', 'expiresIn', 'sessionId', 'tokenType']);
    expect(String(res.headers['set-cookie'])).toMatch(/^refresh_token=/);
  });

  it('an unverified email: 403', async () => {
    const { userId, auth } = await verifiedUserWithPasskey();
    await t.dataSource.query('UPDATE users SET email_verified_at = NULL WHERE id = $1', [userId]);
    const res = await loginWith(t, auth);
    expect(res.status).toBe(403);
    expect(res.text).toBe(envelope('Debe verificar su correo electrónico'));
  });
});

describe('passkeys as a second factor, for step-up, and removed', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: ORIGIN });
  });
  afterAll(() => t.close());

  /** The password step of a user with a passkey: its mfaToken and the request options to answer. */
  async function passwordStep(user: LoggedIn) {
    const res = await t.http().post(`${API}/login`).send({ email: user.email, password: user.password }).expect(200);
    expect(res.body.data).toMatchObject({ mfaRequired: true, methods: ['webauthn', 'recovery_code'] });
    return { mfaToken: res.body.data.mfaToken as string, options: res.body.data.webauthn };
  }
  const loginMfa = (body: Record<string, unknown>) => t.http().post(`${API}/login/mfa`).send(body);
  const stepUp = (token: string, body: Record<string, unknown>) => t.http().post(`${API}/step-up`).set(bearer(token)).send(body);
  const stepUpOptions = async (token: string) => (await t.http().post(`${PASSKEYS}/step-up/options`).set(bearer(token)).send({}).expect(200)).body.data;

  it('the login second step: the password answers request options for the own passkeys; an assertion logs in with amr ["pwd","hwk"]', async () => {
    const { user, auth, passkey, factorId } = await userWithPasskey(t);
    const { mfaToken, options } = await passwordStep(user);
    expect(options).toMatchObject({ rpId: 'localhost', allowCredentials: [{ id: passkey.id, type: 'public-key', transports: ['internal'] }] });
    expect((await challengeRows(t, options.challenge))[0]).toMatchObject({ kind: 'passkey_verify', user_id: user.userId });

    const res = await loginMfa({ mfaToken, webauthn: auth.get(options) });
    expectOk(res);
    const me = await meRequest(t, res.body.data.accessToken).expect(200);
    expect(me.body.data.amr).toEqual(['pwd', 'hwk']);
    expect(await factorRow(t, factorId)).toMatchObject({ sign_count: '1' });
    expect(await challengeRows(t, options.challenge)).toEqual([]);
  });

  it('as a second factor the passkey need not verify the user (the password is the other factor)', async () => {
    const { user, auth } = await userWithPasskey(t);
    const { mfaToken, options } = await passwordStep(user);
    expectOk(await loginMfa({ mfaToken, webauthn: auth.get(options, { uv: false }) }));
  });

  it('a wrong origin at the second step: 400 naming it, not a wrong proof: the mfaToken still opens with a right assertion', async () => {
    const { user, auth } = await userWithPasskey(t);
    const { mfaToken, options } = await passwordStep(user);
    expectRefused(await loginMfa({ mfaToken, webauthn: auth.get(options, { origin: 'https://evil.example' }) }), PASSKEY_ERRORS.origin);
    const again = await passwordStep(user);
    expectOk(await loginMfa({ mfaToken, webauthn: auth.get(again.options) }));
  });

  it("refuses another user's passkey and a counter gone back as a wrong proof (401 Código de verificación inválido), a spent challenge as a client's mistake (400)", async () => {
    const { user, auth } = await userWithPasskey(t);
    const stranger = await userWithPasskey(t);
    
    let step = await passwordStep(user);
    expect((await loginMfa({ mfaToken: step.mfaToken, webauthn: stranger.auth.get(step.options, { passkey: stranger.passkey }) })).text).toBe(INVALID_CODE_BODY);

    step = await passwordStep(user);
    const assertion = auth.get(step.options, { counter: 7 });
    expectOk(await loginMfa({ mfaToken: step.mfaToken, webauthn: assertion }));
    step = await passwordStep(user);
    const spent = await loginMfa({ mfaToken: step.mfaToken, webauthn: assertion });
    expect(spent.status).toBe(400);
    expect(spent.body.errors).toEqual(['El desafío de la llave de acceso no es válido o ha expirado']);
    expect((await loginMfa({ mfaToken: step.mfaToken, webauthn: auth.get(step.options, { counter: 7 }) })).text).toBe(INVALID_CODE_BODY);
  });

  it('POST /step-up { webauthn }: raises this session with hwk, so registering another passkey passes the step-up check', async () => {
    const { user, auth } = await userWithPasskey(t);
    await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - interval '1 hour' WHERE id = $1`, [user.sessionId]);
    expect((await registerOptions(t, user.token)).status).toBe(401);

    const options = await stepUpOptions(user.token);
    const res = await stepUp(user.token, { webauthn: auth.get(options) });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe('Autenticación confirmada');
    expect(res.body.data.amr).toEqual(['pwd', 'hwk']);
    expect((await registerWith(t, user, new SoftAuthenticator())).res.status).toBe(200);

    // The same assertion again: its challenge is spent, a client's mistake (400), not a wrong proof.
    const again = await stepUp(user.token, { webauthn: auth.get(options) });
    expect(again.status).toBe(400);
    expect(again.body.errors).toEqual(['El desafío de la llave de acceso no es válido o ha expirado']);
  });

  it('DELETE /mfa/factors/:id of a passkey: every other session ends (mfa_removed), and the passkey opens nothing any more', async () => {
    const { user, auth, factorId } = await userWithPasskey(t);
    const other = await loginWith(t, auth);
    expectOk(other);
    const res = await t.http().delete(`${API}/mfa/factors/${factorId}`).set(bearer(user.token));
    expect(res.status).toBe(200);
    expect(res.body.message).toBe(MFA.factorRemoved);
    const ended = await sessionRow(t, other.body.data.sessionId);
    expect(ended.revoked_at).toBeInstanceOf(Date);
    expect(ended.ended_reason).toBe('mfa_removed');
    await meRequest(t, user.token).expect(200);
    expect(await factorRow(t, factorId)).toBeUndefined();
    expectBadCredentials(await loginWith(t, auth));
    // No factor left: the password alone logs in again.
    expect((await t.http().post(`${API}/login`).send({ email: user.email, password: user.password }).expect(200)).body.data.accessToken).toEqual(expect.any(String));
  });
});
