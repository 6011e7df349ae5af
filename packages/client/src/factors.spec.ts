import { describe, expect, it } from 'vitest';
import { type AuthClientOptions, AuthClient, type SignedOutReason } from './auth-client.js';
import { AuthError, MfaRequiredError, StepUpRequiredError } from './factors.js';

// Second factors through the client against a fake API (the real one: test/e2e/web-client-mfa.e2e-spec.ts):
// the login's second step, step-up and its single retry, and that a step-up 401 never ends the session.

const BASE = 'https://auth.example.com';
const CHALLENGE = 'Bearer error="insufficient_user_authentication", error_description="Se requiere autenticacion reciente", max_age=300';

interface Call {
  route: string;
  body: Record<string, unknown> | undefined;
  authorization: string | null;
  credentials: RequestCredentials;
}
type Handler = (body: Record<string, any> | undefined, call: Call) => Response | Promise<Response>;

const ok = (message: string, data?: object) => Response.json({ success: true, message, ...(data && { data }) });
const fail = (status: number, message: string, headers?: Record<string, string>) => Response.json({ success: false, message }, { status, headers });
const stepUpRequired = (withHeader = true) => fail(401, 'Se requiere autenticación reciente', withHeader ? { 'www-authenticate': CHALLENGE } : undefined);
const wrongCode = () => fail(401, 'Código de verificación inválido');
const sessionOver = () => fail(401, 'Token no proporcionado o inválido', { 'www-authenticate': 'Bearer error="invalid_token"' });

let issued = 0;
const tokens = (cookie: boolean) => ({
  accessToken: `access-${++issued}`,
  tokenType: 'Bearer',
  expiresIn: 900,
  ...(!cookie && { refreshToken: `refresh-${issued}` }),
});

/** A fake API: `routes` by `METHOD /path`; every call recorded. Login answers the second step's challenge. */
function fakeApi(cookie: boolean, routes: Record<string, Handler> = {}) {
  const calls: Call[] = [];
  const all: Record<string, Handler> = {
    'POST /api/v1/auth/login': () =>
      ok('Se requiere un segundo factor', { mfaRequired: true, mfaToken: 'mfa-token-1', methods: ['totp', 'recovery_code'] }),
    'POST /api/v1/auth/login/mfa': (body) => (body?.code === '123456' || body?.recoveryCode === 'good-recovery' ? ok('Inicio de sesión exitoso', tokens(cookie)) : wrongCode()),
    'POST /api/v1/auth/refresh': () => ok('Token renovado', tokens(cookie)),
    'POST /api/v1/auth/step-up': (body) => (body?.code === '654321' ? ok('Autenticación confirmada') : wrongCode()),
    ...routes,
  };
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const text = await request.text();
    const call: Call = {
      route: `${request.method} ${new URL(request.url).pathname}`,
      body: text ? JSON.parse(text) : undefined,
      authorization: request.headers.get('authorization'),
      credentials: request.credentials,
    };
    calls.push(call);
    const handler = all[call.route];
    return handler ? handler(call.body, call) : fail(404, 'Recurso no encontrado');
  };
  const routesCalled = () => calls.map((c) => c.route);
  return { calls, fetcher, routesCalled };
}

function clientOf(fetcher: typeof fetch, options: Partial<AuthClientOptions> = {}) {
  const client = new AuthClient({ baseUrl: BASE, fetch: fetcher, tabs: false, ...options });
  const signedOut: SignedOutReason[] = [];
  client.onSignedOut((reason) => signedOut.push(reason));
  return { client, signedOut };
}

describe.each([
  ['bearer', false],
  ['cookie', true],
] as const)('the login\'s second factor (%s mode)', (mode, cookie) => {
  it('asks onMfaRequired, again with the refusal after a wrong code, and is then signed in', async () => {
    const api = fakeApi(cookie);
    const prompts: unknown[] = [];
    const codes = ['000000', '123456'];
    const { client } = clientOf(api.fetcher, {
      mode,
      onMfaRequired: async (prompt) => {
        prompts.push(prompt);
        return { code: codes.shift()! };
      },
    });

    const answer = await client.login('ana@example.com', 'password-123');

    expect(answer.accessToken).toMatch(/^access-/);
    expect(client.signedIn).toBe(true);
    expect(prompts).toStrictEqual([
      { methods: ['totp', 'recovery_code'], attempt: 1 },
      { methods: ['totp', 'recovery_code'], attempt: 2, error: new AuthError(401, 'Código de verificación inválido') },
    ]);
    expect(api.calls.slice(1).map((c) => [c.route, c.body])).toStrictEqual([
      ['POST /api/v1/auth/login/mfa', { mfaToken: 'mfa-token-1', code: '000000' }],
      ['POST /api/v1/auth/login/mfa', { mfaToken: 'mfa-token-1', code: '123456' }],
    ]);
    expect(new Set(api.calls.map((c) => c.credentials))).toStrictEqual(new Set([cookie ? 'include' : 'same-origin']));
    // Signed in as after any login: the calls carry the token; bearer mode refreshes with the refresh token it was given.
    expect((await client.fetch(`${BASE}/api/v1/auth/me`)).status).toBe(404);
    expect(api.calls.at(-1)?.authorization).toBe(`Bearer ${answer.accessToken}`);
    await client.refresh();
    expect(api.calls.at(-1)?.body).toStrictEqual(cookie ? {} : { refreshToken: answer.refreshToken });
  });

  it('a recovery code is a proof too', async () => {
    const api = fakeApi(cookie);
    const { client } = clientOf(api.fetcher, { mode, onMfaRequired: async () => ({ recoveryCode: 'good-recovery' }) });
    await client.login('ana@example.com', 'password-123');
    expect(api.calls[1]?.body).toStrictEqual({ mfaToken: 'mfa-token-1', recoveryCode: 'good-recovery' });
    expect(client.signedIn).toBe(true);
  });

  it('when the callback gives up, rejects with MfaRequiredError (the last refusal its cause) and signs nobody in', async () => {
    const api = fakeApi(cookie);
    const answers = [{ code: '000000' }, null];
    const { client } = clientOf(api.fetcher, { mode, onMfaRequired: async () => answers.shift() });
    const error = await client.login('ana@example.com', 'password-123').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MfaRequiredError);
    expect(error).toMatchObject({ methods: ['totp', 'recovery_code'], mfaToken: 'mfa-token-1', cause: { status: 401, message: 'Código de verificación inválido' } });
    expect(client.signedIn).toBe(false);
  });
});

describe('the login\'s second factor, without a callback or past hope', () => {
  it('without onMfaRequired, rejects with MfaRequiredError carrying methods and options; loginMfa finishes it', async () => {
    const webauthn = { challenge: 'abc', rpId: 'localhost', allowCredentials: [] };
    const api = fakeApi(false, {
      'POST /api/v1/auth/login': () => ok('Se requiere un segundo factor', { mfaRequired: true, mfaToken: 'mfa-token-1', methods: ['webauthn', 'totp'], webauthn }),
    });
    const { client } = clientOf(api.fetcher);
    const error = (await client.login('ana@example.com', 'password-123').catch((e: unknown) => e)) as MfaRequiredError;
    expect(error).toBeInstanceOf(MfaRequiredError);
    expect(error).toMatchObject({ name: 'MfaRequiredError', message: 'Se requiere un segundo factor', methods: ['webauthn', 'totp'], webauthn, mfaToken: 'mfa-token-1' });
    expect(client.signedIn).toBe(false);

    await client.loginMfa(error.mfaToken, { code: '123456' });
    expect(client.signedIn).toBe(true);
  });

  it('passes webauthn options to the callback and sends its assertion', async () => {
    const webauthn = { challenge: 'abc' };
    const api = fakeApi(false, {
      'POST /api/v1/auth/login': () => ok('Se requiere un segundo factor', { mfaRequired: true, mfaToken: 'mfa-token-1', methods: ['webauthn'], webauthn }),
      'POST /api/v1/auth/login/mfa': (body) => (body?.webauthn?.id === 'cred-1' ? ok('Inicio de sesión exitoso', tokens(false)) : wrongCode()),
    });
    const asked: unknown[] = [];
    const { client } = clientOf(api.fetcher, {
      onMfaRequired: async (prompt) => {
        asked.push(prompt);
        return { webauthn: { id: 'cred-1', response: {} } };
      },
    });
    await client.login('ana@example.com', 'password-123');
    expect(asked).toStrictEqual([{ methods: ['webauthn'], webauthn, attempt: 1 }]);
    expect(api.calls[1]?.body).toStrictEqual({ mfaToken: 'mfa-token-1', webauthn: { id: 'cred-1', response: {} } });
  });

  it('stops asking after the fifth wrong code (the server kills the mfaToken then)', async () => {
    const api = fakeApi(false);
    let asked = 0;
    const { client } = clientOf(api.fetcher, { onMfaRequired: async () => (asked++, { code: '000000' }) });
    await expect(client.login('ana@example.com', 'password-123')).rejects.toMatchObject({ status: 401, message: 'Código de verificación inválido' });
    expect(asked).toBe(5);
  });

  it('a refusal the user cannot correct (rate limit) rejects at once', async () => {
    const api = fakeApi(false, { 'POST /api/v1/auth/login/mfa': () => fail(429, 'Demasiadas solicitudes, intente más tarde', { 'retry-after': '60' }) });
    let asked = 0;
    const { client } = clientOf(api.fetcher, { onMfaRequired: async () => (asked++, { code: '123456' }) });
    await expect(client.login('ana@example.com', 'password-123')).rejects.toMatchObject({ status: 429 });
    expect(asked).toBe(1);
  });

  it('a login without a factor is signed in as before, the callback never asked', async () => {
    const api = fakeApi(false, { 'POST /api/v1/auth/login': () => ok('Inicio de sesión exitoso', tokens(false)) });
    let asked = 0;
    const { client } = clientOf(api.fetcher, { onMfaRequired: async () => (asked++, null) });
    await client.login('ana@example.com', 'password-123');
    expect(client.signedIn).toBe(true);
    expect(asked).toBe(0);
  });
});

describe('passwordless login with a passkey', () => {
  it('fetches the request options, has them answered, and signs in with the assertion', async () => {
    const options = { challenge: 'xyz', rpId: 'localhost', userVerification: 'preferred' };
    const api = fakeApi(false, {
      'POST /api/v1/auth/passkeys/login/options': () => ok('Opciones de llave de acceso', options),
      'POST /api/v1/auth/passkeys/login': () => ok('Inicio de sesión exitoso', tokens(false)),
    });
    const { client } = clientOf(api.fetcher);
    const given: unknown[] = [];
    await client.loginWithPasskey(async (o) => (given.push(o), { id: 'cred-1', type: 'public-key' }));
    expect(given).toStrictEqual([options]);
    expect(api.calls.map((c) => [c.route, c.body])).toStrictEqual([
      ['POST /api/v1/auth/passkeys/login/options', {}],
      ['POST /api/v1/auth/passkeys/login', { credential: { id: 'cred-1', type: 'public-key' } }],
    ]);
    expect(client.signedIn).toBe(true);
  });

  it('a refused assertion throws the API\'s answer and signs nobody in', async () => {
    const api = fakeApi(false, {
      'POST /api/v1/auth/passkeys/login/options': () => ok('Opciones de llave de acceso', { challenge: 'xyz' }),
      'POST /api/v1/auth/passkeys/login': () => fail(401, 'Credenciales inválidas'),
    });
    const { client } = clientOf(api.fetcher);
    await expect(client.loginWithPasskey(async () => ({ id: 'cred-1' }))).rejects.toMatchObject({ status: 401, message: 'Credenciales inválidas' });
    expect(client.signedIn).toBe(false);
  });
});

/** A route that wants a recent factor until step-up answers 200, as the API's guard does. */
function stepUpApi(cookie: boolean, options: { withHeader?: boolean; stepUp?: Handler } = {}) {
  let raised = false;
  const api = fakeApi(cookie, {
    'POST /api/v1/auth/login': () => ok('Inicio de sesión exitoso', tokens(cookie)),
    'POST /api/v1/auth/step-up': async (body, call) => {
      const answer = await (options.stepUp ?? ((b) => (b?.code === '654321' ? ok('Autenticación confirmada') : wrongCode())))(body, call);
      raised ||= answer.ok;
      return answer;
    },
    'POST /api/v1/auth/mfa/recovery-codes': (body) =>
      raised ? ok('Códigos de recuperación generados', { recoveryCodes: ['a'], echo: body }) : stepUpRequired(options.withHeader ?? true),
    'POST /api/v1/auth/mfa/totp': () =>
      raised ? ok('Escanee el código en su aplicación de autenticación', { factorId: 'f', secret: 's', uri: 'otpauth://totp/x' }) : stepUpRequired(),
  });
  return api;
}

describe.each([
  ['bearer', false],
  ['cookie', true],
] as const)('step-up (%s mode)', (mode, cookie) => {
  it('asks onStepUp once with max_age, proves it on this session, and sends the request again, its body intact', async () => {
    const api = stepUpApi(cookie);
    const prompts: unknown[] = [];
    const { client, signedOut } = clientOf(api.fetcher, { mode, onStepUp: async (p) => (prompts.push(p), { code: '654321' }) });
    const { accessToken } = await client.login('ana@example.com', 'password-123');

    const response = await client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"why":"lost"}' });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { echo: { why: 'lost' } } });
    expect(prompts).toStrictEqual([{ maxAge: 300, attempt: 1 }]);
    expect(api.calls.slice(1).map((c) => [c.route, c.body, c.authorization])).toStrictEqual([
      ['POST /api/v1/auth/mfa/recovery-codes', { why: 'lost' }, `Bearer ${accessToken}`],
      ['POST /api/v1/auth/step-up', { code: '654321' }, `Bearer ${accessToken}`],
      ['POST /api/v1/auth/mfa/recovery-codes', { why: 'lost' }, `Bearer ${accessToken}`],
    ]);
    // Never a refresh, never a sign-out: the session was alive all along.
    expect(api.routesCalled()).not.toContain('POST /api/v1/auth/refresh');
    expect(signedOut).toStrictEqual([]);
    expect(client.signedIn).toBe(true);
  });

  it('through the typed client too; a wrong code asks again with the refusal', async () => {
    const api = stepUpApi(cookie);
    const prompts: unknown[] = [];
    const codes = ['111111', '654321'];
    const { client, signedOut } = clientOf(api.fetcher, { mode, onStepUp: async (p) => (prompts.push(p), { code: codes.shift()! }) });
    await client.login('ana@example.com', 'password-123');

    const { response, data } = await client.api.POST('/api/v1/auth/mfa/totp', { body: {} });

    expect(response.status).toBe(200);
    expect(data?.data.factorId).toBe('f');
    expect(prompts).toStrictEqual([
      { maxAge: 300, attempt: 1 },
      { maxAge: 300, attempt: 2, error: new AuthError(401, 'Código de verificación inválido') },
    ]);
    expect(api.routesCalled().filter((r) => r === 'POST /api/v1/auth/step-up')).toHaveLength(2);
    expect(signedOut).toStrictEqual([]);
  });

  it('without onStepUp, the request rejects with StepUpRequiredError and the session lives on', async () => {
    const api = stepUpApi(cookie);
    const { client, signedOut } = clientOf(api.fetcher, { mode });
    await client.login('ana@example.com', 'password-123');

    const error = await client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StepUpRequiredError);
    expect(error).toMatchObject({ name: 'StepUpRequiredError', status: 401, message: 'Se requiere autenticación reciente', maxAge: 300 });
    expect(api.routesCalled()).toStrictEqual(['POST /api/v1/auth/login', 'POST /api/v1/auth/mfa/recovery-codes']);
    expect(signedOut).toStrictEqual([]);
    expect(client.signedIn).toBe(true);
  });

  it('when the callback gives up, rejects with StepUpRequiredError, nothing sent again', async () => {
    const api = stepUpApi(cookie);
    const { client, signedOut } = clientOf(api.fetcher, { mode, onStepUp: async () => null });
    await client.login('ana@example.com', 'password-123');
    await expect(client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' })).rejects.toBeInstanceOf(StepUpRequiredError);
    expect(api.routesCalled()).toStrictEqual(['POST /api/v1/auth/login', 'POST /api/v1/auth/mfa/recovery-codes']);
    expect(signedOut).toStrictEqual([]);
  });
});

describe('step-up, the edges', () => {
  it('recognised by its message where the header cannot be read (CORS without it exposed): no max_age then', async () => {
    const api = stepUpApi(false, { withHeader: false });
    const prompts: unknown[] = [];
    const { client } = clientOf(api.fetcher, { onStepUp: async (p) => (prompts.push(p), { code: '654321' }) });
    await client.login('ana@example.com', 'password-123');
    expect((await client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' })).status).toBe(200);
    expect(prompts).toStrictEqual([{ attempt: 1 }]);
  });

  it('requests challenged together: one prompt, one step-up, and each is sent again', async () => {
    const api = stepUpApi(false);
    let challenges = 0;
    let bothChallenged!: () => void;
    const together = new Promise<void>((resolve) => (bothChallenged = resolve));
    const fetcher: typeof fetch = async (input, init) => {
      const response = await api.fetcher(input, init);
      if (response.status === 401 && ++challenges === 2) bothChallenged();
      return response;
    };
    let asked = 0;
    // Answered only once both requests have heard their challenge.
    const { client } = clientOf(fetcher, { onStepUp: async () => (asked++, await together, { code: '654321' }) });
    await client.login('ana@example.com', 'password-123');
    const both = await Promise.all([1, 2].map(() => client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' })));
    expect(both.map((r) => r.status)).toStrictEqual([200, 200]);
    expect(asked).toBe(1);
    expect(api.routesCalled().filter((r) => r === 'POST /api/v1/auth/step-up')).toHaveLength(1);
  });

  it('a request sent before a step-up that succeeded meanwhile is only sent again, no second prompt', async () => {
    const api = stepUpApi(false);
    let asked = 0;
    let release!: () => void;
    let reached!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holding = new Promise<void>((resolve) => (reached = resolve));
    const inner = api.fetcher;
    // The request sent first hears its challenge only after the other one has stepped up.
    let challenged = 0;
    const fetcher: typeof fetch = async (input, init) => {
      const response = await inner(input, init);
      if (response.status === 401 && ++challenged === 1) {
        reached();
        await held;
      }
      return response;
    };
    const { client } = clientOf(fetcher, { onStepUp: async () => (asked++, { code: '654321' }) });
    await client.login('ana@example.com', 'password-123');
    const early = client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' });
    await holding;
    const late = await client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' });
    release();
    expect([late.status, (await early).status]).toStrictEqual([200, 200]);
    expect(asked).toBe(1);
  });

  it('retries once only: challenged again after the step-up, the request rejects without a second prompt', async () => {
    const api = fakeApi(false, {
      'POST /api/v1/auth/login': () => ok('Inicio de sesión exitoso', tokens(false)),
      'POST /api/v1/auth/mfa/recovery-codes': () => stepUpRequired(),
    });
    let asked = 0;
    const { client, signedOut } = clientOf(api.fetcher, { onStepUp: async () => (asked++, { code: '654321' }) });
    await client.login('ana@example.com', 'password-123');
    await expect(client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' })).rejects.toBeInstanceOf(StepUpRequiredError);
    expect(asked).toBe(1);
    expect(api.routesCalled().filter((r) => r === 'POST /api/v1/auth/mfa/recovery-codes')).toHaveLength(2);
    expect(signedOut).toStrictEqual([]);
  });

  it('a password is a proof for a user without factors; a wrong one asks again', async () => {
    const api = stepUpApi(false, { stepUp: (b) => (b?.password === 'password-123' ? ok('Autenticación confirmada') : fail(401, 'Credenciales inválidas')) });
    const passwords = ['nope', 'password-123'];
    const prompts: unknown[] = [];
    const { client } = clientOf(api.fetcher, { onStepUp: async (p) => (prompts.push(p), { password: passwords.shift()! }) });
    await client.login('ana@example.com', 'password-123');
    expect((await client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' })).status).toBe(200);
    expect(prompts).toStrictEqual([
      { maxAge: 300, attempt: 1 },
      { maxAge: 300, attempt: 2, error: new AuthError(401, 'Credenciales inválidas') },
    ]);
  });

  it('a session that ended meanwhile: the step-up\'s 401 signs out, once, and the request rejects', async () => {
    const api = stepUpApi(false, { stepUp: () => sessionOver() });
    const { client, signedOut } = clientOf(api.fetcher, { onStepUp: async () => ({ code: '654321' }) });
    await client.login('ana@example.com', 'password-123');
    await expect(client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' })).rejects.toMatchObject({
      status: 401,
      message: 'Token no proporcionado o inválido',
    });
    expect(signedOut).toStrictEqual(['session-ended']);
    expect(client.signedIn).toBe(false);
  });

  it('an expired token is refreshed first (403), then the step-up challenge is answered: the two paths apart', async () => {
    let expired = true;
    const api = stepUpApi(false);
    const inner = api.fetcher;
    const fetcher: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      if (request.url.endsWith('/recovery-codes') && expired) {
        expired = false;
        await inner(request);
        return fail(403, 'El token ha expirado', { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      return inner(request);
    };
    const { client, signedOut } = clientOf(fetcher, { onStepUp: async () => ({ code: '654321' }) });
    await client.login('ana@example.com', 'password-123');
    expect((await client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' })).status).toBe(200);
    expect(api.routesCalled()).toStrictEqual([
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/mfa/recovery-codes',
      'POST /api/v1/auth/refresh',
      'POST /api/v1/auth/mfa/recovery-codes',
      'POST /api/v1/auth/step-up',
      'POST /api/v1/auth/mfa/recovery-codes',
    ]);
    expect(signedOut).toStrictEqual([]);
  });

  it('a passkey at step-up: stepUpPasskeyOptions fetches the options with the session, the assertion answers them', async () => {
    const options = { challenge: 'step', allowCredentials: [{ id: 'cred-1', type: 'public-key' }] };
    const api = stepUpApi(false, { stepUp: (b) => (b?.webauthn?.id === 'cred-1' ? ok('Autenticación confirmada') : wrongCode()) });
    const withOptions: typeof fetch = async (input, init) =>
      (input instanceof Request ? input.url : String(input)).endsWith('/passkeys/step-up/options') ? (await api.fetcher(input, init), ok('Opciones de llave de acceso', options)) : api.fetcher(input, init);
    const given: unknown[] = [];
    const { client } = clientOf(withOptions, {
      onStepUp: async () => {
        given.push(await client.stepUpPasskeyOptions());
        return { webauthn: { id: 'cred-1' } };
      },
    });
    const { accessToken } = await client.login('ana@example.com', 'password-123');
    expect((await client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' })).status).toBe(200);
    expect(given).toStrictEqual([options]);
    expect(api.calls.slice(1).map((c) => [c.route, c.authorization])).toStrictEqual([
      ['POST /api/v1/auth/mfa/recovery-codes', `Bearer ${accessToken}`],
      ['POST /api/v1/auth/passkeys/step-up/options', `Bearer ${accessToken}`],
      ['POST /api/v1/auth/step-up', `Bearer ${accessToken}`],
      ['POST /api/v1/auth/mfa/recovery-codes', `Bearer ${accessToken}`],
    ]);
  });

  it('stepUp() by hand proves a factor before a request', async () => {
    const api = stepUpApi(false);
    const { client } = clientOf(api.fetcher);
    await client.login('ana@example.com', 'password-123');
    await expect(client.stepUp({ code: '000000' })).rejects.toMatchObject({ status: 401, message: 'Código de verificación inválido' });
    await client.stepUp({ code: '654321' });
    expect((await client.fetch(`${BASE}/api/v1/auth/mfa/recovery-codes`, { method: 'POST' })).status).toBe(200);
  });

  it('a 401 for the session still signs out, with no prompt', async () => {
    const api = fakeApi(false, {
      'POST /api/v1/auth/login': () => ok('Inicio de sesión exitoso', tokens(false)),
      'GET /api/v1/auth/me': () => sessionOver(),
    });
    let asked = 0;
    const { client, signedOut } = clientOf(api.fetcher, { onStepUp: async () => (asked++, null) });
    await client.login('ana@example.com', 'password-123');
    expect((await client.fetch(`${BASE}/api/v1/auth/me`)).status).toBe(401);
    expect(signedOut).toStrictEqual(['session-ended']);
    expect(asked).toBe(0);
  });
});
