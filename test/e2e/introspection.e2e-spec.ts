import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStreamService } from '../../src/events/event-stream.service.js';
import { startApp, type TestApp } from '../support/app.js';
import { ed25519Key } from '../support/ed25519.js';
import { INTROSPECT, INTROSPECTION_CLIENT, INTROSPECTION_CLIENTS, introspectRequest } from '../support/introspection.js';
import { API, bearer, endSessionRequest, logoutRequest, meRequest, passwordRequest, refreshRequest } from '../support/requests.js';
import { setSessionClock } from '../support/rows.js';
import { claimsFor, decodePart, expiredClaimsFor, handSigned, HS256 } from '../support/tokens.js';
import { login, loginWithRefresh, registerAndLogin, registerAndLoginWithRefresh } from '../support/users.js';

const INACTIVE = '{"active":false}';
const INVALID_CLIENT = '{"error":"invalid_client"}';

describe.each([
  ['HS256', {}],
  ['EdDSA', { JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: ed25519Key().privatePem }],
])('POST /api/v1/auth/introspect (RFC 7662), tokens signed with %s', (_algorithm, keys) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ INTROSPECTION_CLIENTS, ...keys });
  });
  afterAll(() => t.close());

  it('answers active with the claims of a token that passes on /me, form-encoded or JSON, never cached', async () => {
    const user = await registerAndLogin(t);
    const claims = decodePart(user.token, 1);
    const res = await introspectRequest(t, user.token).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toStrictEqual({
      active: true,
      sub: user.userId,
      sid: user.sessionId,
      exp: claims.exp,
      iat: claims.iat,
      iss: claims.iss,
      aud: claims.aud,
      token_type: 'access_token',
    });
    const json = await t.http().post(INTROSPECT).auth(INTROSPECTION_CLIENT.id, INTROSPECTION_CLIENT.secret).send({ token: user.token, token_type_hint: 'access_token' });
    expect(json.body).toStrictEqual(res.body);
    const me = await meRequest(t, user.token).expect(200);
    expect([me.body.data.id, me.body.data.sessionId]).toStrictEqual([res.body.sub, res.body.sid]);
  });

  it('answers the one inactive body for every token that would not pass: ended, expired, timed out, forged, malformed', async () => {
    const ended = await registerAndLogin(t);
    await logoutRequest(t, ended.token).expect(200);
    const idle = await registerAndLogin(t);
    await setSessionClock(t, idle.sessionId, 'last_used_at', '-8 days');
    const live = await registerAndLogin(t);
    for (const token of [
      ended.token,
      idle.token,
      handSigned(HS256, expiredClaimsFor(live)),
      handSigned(HS256, claimsFor(live), { secret: 'not-the-secret-0123456789-abcdefghijklmnop' }),
      `${live.token}x`,
      live.token.split('.').slice(0, 2).join('.'),
      'not-a-token',
      '',
      'a'.repeat(5000),
    ]) {
      const res = await introspectRequest(t, token);
      expect(res.status, token.slice(0, 40)).toBe(200);
      expect(res.text).toBe(INACTIVE);
    }
    await meRequest(t, live.token).expect(200);
  });

  it('gives at every instant the answer /me gives, through logouts, ends by id, refreshes, reuse and a password change', async () => {
    const user = await registerAndLoginWithRefresh(t);
    const others = [await loginWithRefresh(t, user.email, user.password), await loginWithRefresh(t, user.email, user.password), await loginWithRefresh(t, user.email, user.password)];
    const tokens = [user.token, ...others.map((o) => o.token)];
    const agree = async () => {
      for (const token of tokens) {
        const [me, introspected] = await Promise.all([meRequest(t, token), introspectRequest(t, token)]);
        expect(introspected.body.active, `/me said ${me.status}`).toBe(me.status === 200);
      }
    };
    await agree();
    await endSessionRequest(t, user.token, others[0]!.sessionId).expect(200);
    await agree();
    const refreshed = await refreshRequest(t, others[1]!.refreshToken).expect(200);
    tokens.push(refreshed.body.data.accessToken);
    await agree();
    // The rotated refresh token presented again after its successor was used: reuse ends the session.
    await refreshRequest(t, refreshed.body.data.refreshToken).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await agree();
    await passwordRequest(t, user.token, { currentPassword: user.password, newPassword: 'another-password-456' }).expect(200);
    await agree();
    await logoutRequest(t, user.token).expect(200);
    await agree();
  });

  it('takes many introspections at once as the guard takes many requests: every answer right', async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => registerAndLogin(t)));
    await logoutRequest(t, users[0]!.token).expect(200);
    const answers = await Promise.all(users.flatMap((u) => Array.from({ length: 5 }, () => introspectRequest(t, u.token))));
    answers.forEach((res, i) => expect(res.body.active).toBe(i >= 5));
  });
});

describe('introspection clients and bad requests', () => {
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    t = await startApp({ INTROSPECTION_CLIENTS });
    token = (await registerAndLogin(t)).token;
  });
  afterAll(() => t.close());

  const basic = (value: string) => `Basic ${Buffer.from(value).toString('base64')}`;

  it('refuses every request without one of the configured clients: 401 invalid_client, WWW-Authenticate Basic', async () => {
    for (const authorization of [
      undefined,
      basic(`${INTROSPECTION_CLIENT.id}:wrong-secret`),
      basic(`nobody:${INTROSPECTION_CLIENT.secret}`),
      basic(`${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret}x`),
      basic(`${INTROSPECTION_CLIENT.id}:`),
      basic(INTROSPECTION_CLIENT.secret),
      `Bearer ${token}`,
      'Basic !!!not-base64!!!',
      'Basic',
    ]) {
      const req = t.http().post(INTROSPECT).type('form').send({ token });
      const res = await (authorization ? req.set('Authorization', authorization) : req);
      expect(res.status, authorization).toBe(401);
      expect(res.text).toBe(INVALID_CLIENT);
      expect(res.headers['www-authenticate']).toBe('Basic realm="auth-backend"');
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('takes each configured client, the scheme in any case', async () => {
    expect((await introspectRequest(t, token, { id: 'search', secret: 'search-secret-0123456789-abcdefghij' })).body.active).toBe(true);
    const res = await t.http().post(INTROSPECT).set('Authorization', `bAsIc ${Buffer.from(`${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret}`).toString('base64')}`).type('form').send({ token });
    expect(res.body.active).toBe(true);
  });

  it('answers 400 invalid_request, in OAuth words, to a request without a token or with a body it cannot read', async () => {
    const as = () => t.http().post(INTROSPECT).auth(INTROSPECTION_CLIENT.id, INTROSPECTION_CLIENT.secret);
    for (const [i, res] of [
      await as(),
      await as().type('form').send('token_type_hint=access_token'),
      await as().type('form').send(`token=${token}&token=${token}`),
      await as().send({ token: 42 }),
      await as().send({ token, extra: true }),
      await as().set('Content-Type', 'text/plain').send(token),
      await as().set('Content-Type', 'application/json').send('{"token":'),
    ].entries()) {
      expect(res.status, `case ${i}`).toBe(400);
      expect(res.text).toBe('{"error":"invalid_request"}');
    }
  });

  it('is refused to everyone when INTROSPECTION_CLIENTS is not set', async () => {
    const bare = await startApp();
    try {
      const res = await bare.http().post(INTROSPECT).auth(INTROSPECTION_CLIENT.id, INTROSPECTION_CLIENT.secret).type('form').send({ token });
      expect(res.status).toBe(401);
      expect(res.text).toBe(INVALID_CLIENT);
    } finally {
      await bare.close();
    }
  });

  it('takes forms on this route only: elsewhere a form body is still a 400 envelope', async () => {
    const res = await t.http().post(`${API}/login`).type('form').send({ email: 'a@b.co', password: 'password-123' });
    expect(res.status).toBe(400);
    expect(res.body).toStrictEqual({ success: false, message: 'Solicitud inválida', errors: ['El cuerpo debe enviarse como application/json'] });
    await t.http().post(`${API}/logout`).set(bearer(token)).type('form').send({ scope: 'all' }).expect(400);
    await meRequest(t, token).expect(200);
  });
});

describe('introspection while the database is away', () => {
  it('answers 500 server_error, never active and never inactive', async () => {
    const t = await startApp({ INTROSPECTION_CLIENTS });
    try {
      const user = await registerAndLogin(t);
      await login(t, user.email, user.password);
      // The pool ends only once every connection is back: the event stream's LISTEN one (on
      // PostgreSQL) lets go first, as it does when the server stops.
      t.app.get(EventStreamService).beforeApplicationShutdown();
      await t.dataSource.destroy();
      const res = await introspectRequest(t, user.token);
      expect(res.status).toBe(500);
      expect(res.text).toBe('{"error":"server_error"}');
    } finally {
      await t.close().catch(() => undefined);
    }
  });
});
