import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthClient,
  type AuthClientOptions,
  createAuthClient,
  type MfaPrompt,
  MfaRequiredError,
  type SignedOutReason,
  type StepUpPrompt,
  StepUpRequiredError,
} from '../../packages/client/src/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { listen } from '../support/listen.js';
import { auditRows, sessionRow } from '../support/rows.js';
import { bearer } from '../support/requests.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';
import { enrolTotp, totpCode } from '../support/totp.js';
import { login, register, registerAndLogin } from '../support/users.js';

// The typed web client (packages/client) in Node with second factors, against the real app on a
// socket: a login finished by onMfaRequired (TOTP, recovery code, passkey), a passwordless passkey
// login (a software authenticator), and a stale session's step-up answered by onStepUp and the
// request sent again, in bearer mode and in cookie mode (a cookie jar stands for the browser).

const API = '/api/v1/auth';

/** A fetch that records the routes it carries and, in cookie mode, keeps the cookies the API sets. */
function recordingFetch(cookie: boolean) {
  const routes: string[] = [];
  const jar = new Map<string, string>();
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    routes.push(`${request.method} ${new URL(request.url).pathname}`);
    const headers = new Headers(request.headers);
    if (cookie && jar.size > 0) headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(new Request(request, { headers }));
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      if (value === '' || /max-age=0(;|$)/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  };
  return { fetcher, routes, jar };
}

/** A six-digit code that none of the steps the server accepts now (or just after) gives. */
const wrongCode = (secret: string) => ['000000', '111111', '222222', '333333', '444444'].find((code) => ![-1, 0, 1, 2].some((offset) => totpCode(secret, offset) === code))!;

describe.each(['bearer', 'cookie'] as const)('the typed web client with second factors (%s mode)', (mode) => {
  const cookie = mode === 'cookie';
  let t: TestApp;
  let baseUrl: string;
  const clients: AuthClient[] = [];

  beforeAll(async () => {
    t = await startApp(cookie ? { REFRESH_TOKEN_COOKIE: 'true' } : {});
    baseUrl = await listen(t);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await t.close();
  });

  /** A user whose TOTP factor is confirmed (its session from the enrolment is another than the client's). */
  async function userWithTotp() {
    const user = await register(t);
    const { token } = await login(t, user.email, user.password);
    return { ...user, ...(await enrolTotp(t, token)) };
  }

  function clientWith(options: Partial<AuthClientOptions> = {}) {
    const { fetcher, routes, jar } = recordingFetch(cookie);
    const client = createAuthClient({ baseUrl, mode, tabs: false, fetch: fetcher, ...options });
    clients.push(client);
    const signedOut: SignedOutReason[] = [];
    client.onSignedOut((reason) => signedOut.push(reason));
    return { client, routes, jar, signedOut };
  }

  /** Signed in through the client, the second step answered with the current TOTP code. */
  async function signedInWithTotp(options: Partial<AuthClientOptions> = {}) {
    const user = await userWithTotp();
    const signed = clientWith({ onMfaRequired: async () => ({ code: totpCode(user.secret) }), ...options });
    const tokens = await signed.client.login(user.email, user.password);
    return { user, tokens, ...signed };
  }

  it('finishes a login through onMfaRequired, asked again after a wrong code, as a normal login', async () => {
    const user = await userWithTotp();
    const prompts: MfaPrompt[] = [];
    const codes = [wrongCode(user.secret), totpCode(user.secret)];
    const { client, routes, jar } = clientWith({ onMfaRequired: async (prompt) => (prompts.push(prompt), { code: codes.shift()! }) });

    const tokens = await client.login(user.email, user.password);

    expect(prompts).toMatchObject([
      { methods: ['totp', 'recovery_code'], attempt: 1 },
      { methods: ['totp', 'recovery_code'], attempt: 2, error: { status: 401, message: 'Código de verificación inválido' } },
    ]);
    expect(prompts[0]).not.toHaveProperty('error');
    expect(routes).toStrictEqual([`POST ${API}/login`, `POST ${API}/login/mfa`, `POST ${API}/login/mfa`]);
    expect(client.signedIn).toBe(true);
    expect(tokens.refreshToken === undefined).toBe(cookie);
    expect(jar.has('refresh_token')).toBe(cookie);
    const { data } = await client.api.GET('/api/v1/auth/me');
    expect(data?.data.amr).toStrictEqual(['pwd', 'otp']);
    expect((await sessionRow(t, tokens.sessionId)).amr).toStrictEqual(['pwd', 'otp']);
    // The session goes on as after any login: a refresh (its token, or its cookie) gets the next access token.
    const next = await client.refresh();
    expect(next).toBeDefined();
    expect(next).not.toBe(tokens.accessToken);
    expect((await client.api.GET('/api/v1/auth/me')).response.status).toBe(200);
  });

  it('without onMfaRequired, login rejects with MfaRequiredError carrying the methods; loginMfa finishes it', async () => {
    const user = await userWithTotp();
    const { client } = clientWith();

    const error = (await client.login(user.email, user.password).catch((e: unknown) => e)) as MfaRequiredError;

    expect(error).toBeInstanceOf(MfaRequiredError);
    expect(error.methods).toStrictEqual(['totp', 'recovery_code']);
    expect(client.signedIn).toBe(false);
    await client.loginMfa(error.mfaToken, { code: totpCode(user.secret) });
    expect(client.signedIn).toBe(true);
    expect((await client.api.GET('/api/v1/auth/me')).data?.data.email).toBe(user.email);
  });

  it('a recovery code given by the callback logs in too', async () => {
    const user = await userWithTotp();
    const { client } = clientWith({ onMfaRequired: async ({ methods }) => (methods.includes('recovery_code') ? { recoveryCode: user.recoveryCodes![0]! } : null) });
    const tokens = await client.login(user.email, user.password);
    expect(client.signedIn).toBe(true);
    expect((await sessionRow(t, tokens.sessionId)).revoked_at).toBeNull();
  });

  it('stops asking after the fifth wrong code: the server killed the mfaToken, login rejects with the refusal', async () => {
    const user = await userWithTotp();
    let asked = 0;
    const { client, routes } = clientWith({ onMfaRequired: async () => (asked++, { code: wrongCode(user.secret) }) });
    await expect(client.login(user.email, user.password)).rejects.toMatchObject({ status: 401, message: 'Código de verificación inválido' });
    expect(asked).toBe(5);
    expect(routes.filter((r) => r === `POST ${API}/login/mfa`)).toHaveLength(5);
    expect(client.signedIn).toBe(false);
  });

  // POST /mfa/totp (a further TOTP factor) wants a recent proof from a user who has a factor.
  const STEP_UP_ROUTE = `POST ${API}/mfa/totp`;
  const staleSession = (sessionId: string) =>
    t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - interval '1 hour' WHERE id = $1`, [sessionId]);

  /** A user with a passkey registered (WebAuthn defaults: RP localhost, origin http://localhost:3000), and its authenticator. */
  async function userWithPasskey() {
    const user = await registerAndLogin(t);
    const auth = new SoftAuthenticator();
    const options = (await t.http().post(`${API}/passkeys/register/options`).set(bearer(user.token)).send({}).expect(200)).body.data;
    await t.http().post(`${API}/passkeys/register`).set(bearer(user.token)).send({ credential: auth.create(options).json }).expect(200);
    return { ...user, auth };
  }

  it('passwordless: loginWithPasskey has the API\'s request options answered and signs in with the assertion', async () => {
    const user = await userWithPasskey();
    const { client, routes } = clientWith();

    const tokens = await client.loginWithPasskey(async (options) => user.auth.get(options as never));

    expect(routes).toStrictEqual([`POST ${API}/passkeys/login/options`, `POST ${API}/passkeys/login`]);
    expect(client.signedIn).toBe(true);
    expect((await client.api.GET('/api/v1/auth/me')).data?.data).toMatchObject({ email: user.email, amr: ['hwk', 'user'] });
    expect((await sessionRow(t, tokens.sessionId)).user_id).toBe(user.userId);
  });

  it('a passkey as the second factor: onMfaRequired gets the request options and answers the assertion', async () => {
    const user = await userWithPasskey();
    const prompts: MfaPrompt[] = [];
    const { client } = clientWith({ onMfaRequired: async (prompt) => (prompts.push(prompt), { webauthn: user.auth.get(prompt.webauthn as never) }) });

    await client.login(user.email, user.password);

    expect(prompts).toHaveLength(1);
    expect(prompts[0]?.methods).toContain('webauthn');
    expect(prompts[0]?.webauthn).toMatchObject({ challenge: expect.any(String), rpId: 'localhost' });
    expect(client.signedIn).toBe(true);
    expect((await client.api.GET('/api/v1/auth/me')).data?.data.amr).toStrictEqual(['pwd', 'hwk']);
  });

  it('a stale session: a step-up route asks onStepUp once, and the request succeeds after, the session untouched otherwise', async () => {
    const prompts: StepUpPrompt[] = [];
    const { user, tokens, client, routes, signedOut } = await signedInWithTotp({
      // The login spent this step's code: the next step's is unspent.
      onStepUp: async (prompt) => (prompts.push(prompt), { code: totpCode(user.secret, 1) }),
    });
    await staleSession(tokens.sessionId);
    routes.length = 0;

    const { response, data } = await client.api.POST('/api/v1/auth/mfa/totp', { body: { name: 'Otro teléfono' } });

    expect(response.status).toBe(200);
    expect(data?.message).toBe('Escanee el código en su aplicación de autenticación');
    expect(data?.data.uri).toMatch(/^otpauth:\/\/totp\//);
    expect(prompts).toStrictEqual([{ maxAge: 300, attempt: 1 }]);
    expect(routes).toStrictEqual([STEP_UP_ROUTE, `POST ${API}/step-up`, STEP_UP_ROUTE]);
    expect(signedOut).toStrictEqual([]);
    expect(client.signedIn).toBe(true);
    const row = await sessionRow(t, tokens.sessionId);
    expect(row.revoked_at).toBeNull();
    expect(Date.now() - new Date(row.authenticated_at).getTime()).toBeLessThan(60_000);
    expect(await auditRows(t, { event: 'step_up', sessionId: tokens.sessionId })).toHaveLength(1);
  });

  it('a recovery code at step-up, for a route the typed client does not list (client.fetch): removing the factor', async () => {
    const prompts: StepUpPrompt[] = [];
    const { user, tokens, client, routes, signedOut } = await signedInWithTotp({
      onStepUp: async (prompt) => (prompts.push(prompt), { recoveryCode: user.recoveryCodes![0]! }),
    });
    await staleSession(tokens.sessionId);
    routes.length = 0;

    const response = await client.fetch(`${baseUrl}${API}/mfa/factors/${user.factorId}`, { method: 'DELETE' });

    expect(response.status).toBe(200);
    expect(((await response.json()) as { message: string }).message).toBe('Factor eliminado');
    expect(prompts).toStrictEqual([{ maxAge: 300, attempt: 1 }]);
    expect(routes).toStrictEqual([`DELETE ${API}/mfa/factors/${user.factorId}`, `POST ${API}/step-up`, `DELETE ${API}/mfa/factors/${user.factorId}`]);
    // The removal ends the user's other sessions, never this one.
    expect(signedOut).toStrictEqual([]);
    expect((await client.api.GET('/api/v1/auth/me')).response.status).toBe(200);
    expect((await sessionRow(t, tokens.sessionId)).revoked_at).toBeNull();
  });

  it('a passkey at step-up: stepUpPasskeyOptions in the callback, the assertion answers them, the request goes through', async () => {
    const user = await userWithPasskey();
    const prompts: StepUpPrompt[] = [];
    const { client, routes, signedOut } = clientWith({
      onMfaRequired: async ({ webauthn }) => ({ webauthn: user.auth.get(webauthn as never) }),
      onStepUp: async (prompt) => {
        prompts.push(prompt);
        return { webauthn: user.auth.get((await client.stepUpPasskeyOptions()) as never) };
      },
    });
    const tokens = await client.login(user.email, user.password);
    await staleSession(tokens.sessionId);
    routes.length = 0;

    const response = await client.fetch(`${baseUrl}${API}/mfa/recovery-codes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: { recoveryCodes: string[] } }).data.recoveryCodes).toHaveLength(10);
    expect(prompts).toStrictEqual([{ maxAge: 300, attempt: 1 }]);
    expect(routes).toStrictEqual([`POST ${API}/mfa/recovery-codes`, `POST ${API}/passkeys/step-up/options`, `POST ${API}/step-up`, `POST ${API}/mfa/recovery-codes`]);
    expect(signedOut).toStrictEqual([]);
  });

  it('a stale session without onStepUp: the request rejects with StepUpRequiredError, never a refresh or a sign-out', async () => {
    const { tokens, client, routes, signedOut } = await signedInWithTotp();
    await staleSession(tokens.sessionId);
    routes.length = 0;

    const error = await client.api.POST('/api/v1/auth/mfa/totp', { body: {} }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StepUpRequiredError);
    expect(error).toMatchObject({ status: 401, message: 'Se requiere autenticación reciente', maxAge: 300 });
    expect(routes).toStrictEqual([STEP_UP_ROUTE]);
    expect(signedOut).toStrictEqual([]);
    expect(client.signedIn).toBe(true);
    expect((await client.api.GET('/api/v1/auth/me')).response.status).toBe(200);
    expect((await sessionRow(t, tokens.sessionId)).revoked_at).toBeNull();
    expect(await auditRows(t, { event: 'step_up', sessionId: tokens.sessionId })).toStrictEqual([]);
  });
});
