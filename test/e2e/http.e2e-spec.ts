import { randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectInvalidRequest, expectNothingInternal } from '../support/expectations.js';
import { auditRows, rowCount, sessionRows, userRow } from '../support/rows.js';
import { AUDIENCE, ISSUER, startApp, TEST_SECRET, type TestApp } from '../support/app.js';
import { BAD_CREDENTIALS_BODY, envelope, INVALID_TOKEN_BODY, MESSAGES } from '../support/messages.js';
import { API, bearer, logoutRequest, meRequest } from '../support/requests.js';
import { signToken } from '../support/tokens.js';
import { login, register, registerAndLogin, uniqueEmail } from '../support/users.js';
import { decodePart, expiredClaimsFor } from '../support/tokens.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BODY_LIMIT = 16 * 1024;
const NOT_FOUND_BODY = envelope(MESSAGES.notFound);
const TOO_LARGE_BODY = envelope(MESSAGES.tooLarge);
const EMAIL_TAKEN_BODY = envelope(MESSAGES.emailTaken);

describe('the HTTP surface', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  const post = (path: string) => t.http().post(`${API}/${path}`);

  describe('POST /api/v1/auth/register', () => {
    it('answers 201 with the exact message and data { id, email }, and stores the user', async () => {
      const email = uniqueEmail();
      const res = await post('register').send({ email, password: 'password-123' });

      expect(res.status).toBe(201);
      expect(res.body.data.id).toMatch(UUID);
      expect(res.text).toBe(
        JSON.stringify({ success: true, message: MESSAGES.registered, data: { id: res.body.data.id, email } }),
      );
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('no-store');

      const row = await userRow(t, { email });
      expect(row.id).toBe(res.body.data.id);
      expect(row.created_at).toBeInstanceOf(Date);
    });

    it('lowercases the email, in the answer and in the database', async () => {
      const local = `MiXeD-${randomUUID()}`;
      const res = await post('register').send({ email: `${local}@Example.COM`, password: 'password-123' });
      expect(res.status).toBe(201);
      const lowered = `${local.toLowerCase()}@example.com`;
      expect(res.body.data.email).toBe(lowered);
      expect((await userRow(t, { email: lowered })).id).toBe(res.body.data.id);
    });

    it('answers 409 to an email already registered, also in another case, and adds no row', async () => {
      const { email } = await register(t);
      for (const again of [email, email.toUpperCase(), email.replace('user', 'USER')]) {
        const res = await post('register').send({ email: again, password: 'another-password' });
        expect(res.status).toBe(409);
        expect(res.text).toBe(EMAIL_TAKEN_BODY);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['content-type']).toMatch(/^application\/json/);
      }
      const rows = await t.dataSource.query('SELECT 1 FROM users WHERE lower(email) = $1', [email.toLowerCase()]);
      expect(rows).toHaveLength(1);
    });

    it('gives exactly one 201 among simultaneous registrations of one email, the rest 409', async () => {
      const email = uniqueEmail();
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          post('register').send({ email: i % 2 ? email.toUpperCase() : email, password: 'password-123' }),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
      for (const res of results.filter((r) => r.status === 409)) expect(res.text).toBe(EMAIL_TAKEN_BODY);
    });

    it('accepts passwords of exactly 8 and 128 characters', async () => {
      await post('register').send({ email: uniqueEmail(), password: 'a'.repeat(8) }).expect(201);
      await post('register').send({ email: uniqueEmail(), password: 'a'.repeat(128) }).expect(201);
    });

    it.each([
      ['a malformed email', { email: 'not-an-email', password: 'password-123' }, 'email'],
      ['an email that is a number', { email: 42, password: 'password-123' }, 'email'],
      ['an email of 255 characters', { email: `${'a'.repeat(243)}@example.com`, password: 'password-123' }, 'email'],
      ['a password of 7 characters', { email: 'x@example.com', password: 'a'.repeat(7) }, 'password'],
      ['a password of 129 characters', { email: 'x@example.com', password: 'a'.repeat(129) }, 'password'],
      ['a password that is a number', { email: 'x@example.com', password: 12345678 }, 'password'],
      ['no password', { email: 'x@example.com' }, 'password'],
      ['no email', { password: 'password-123' }, 'email'],
      ['an empty object', {}, 'email'],
      ['an unknown property', { email: 'x@example.com', password: 'password-123', role: 'admin' }, 'role'],
    ])('answers 400 with errors[] to %s, and stores nothing', async (_, body, field) => {
      const before = await rowCount(t, 'users');
      const res = await post('register').send(body);
      expectInvalidRequest(res);
      expect(res.body.errors.join(' ')).toContain(field);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(await rowCount(t, 'users')).toBe(before);
    });

    it('stores the password only as a salted scrypt hash, never in clear', async () => {
      const password = `clear-${randomUUID()}`;
      const a = await register(t, uniqueEmail(), password);
      const b = await register(t, uniqueEmail(), password);
      const hashA: string = (await userRow(t, { email: a.email })).password_hash;
      const hashB: string = (await userRow(t, { email: b.email })).password_hash;

      expect(hashA).toMatch(/^scrypt\$/);
      expect(hashA).not.toContain(password);
      expect(hashA).not.toContain(Buffer.from(password).toString('base64url'));
      expect(hashA).not.toBe(hashB); // salted
      const everything = JSON.stringify(await t.dataSource.query('SELECT * FROM users'));
      expect(everything).not.toContain(password);
    });
  });

  describe('POST /api/v1/auth/login', () => {
    it('answers 200 with data { accessToken, refreshToken, tokenType, expiresIn: 900, sessionId }', async () => {
      const user = await register(t);
      const res = await post('login').send({ email: user.email, password: user.password });

      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      expect(res.body.message).toBe(MESSAGES.loggedIn);
      expect(Object.keys(res.body).sort()).toEqual(['data', 'message', 'success']);
      expect(Object.keys(res.body.data).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'sessionId', 'tokenType']);
      expect(res.body.data.refreshToken).toMatch(/^[\w-]{70}$/);
      expect(res.body.data.tokenType).toBe('Bearer');
      expect(res.body.data.expiresIn).toBe(900);
      expect(res.body.data.sessionId).toMatch(UUID);
      expect(res.body.data.accessToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('issues an HS256 JWT with sub, sid, jti, iat, exp, iss and aud', async () => {
      const user = await register(t);
      const before = Math.floor(Date.now() / 1000);
      const res = await post('login').send({ email: user.email, password: user.password }).expect(200);
      const token: string = res.body.data.accessToken;

      expect(decodePart(token, 0)).toMatchObject({ alg: 'HS256' });
      const claims = decodePart(token, 1);
      expect(claims).toMatchObject({ sub: user.userId, sid: res.body.data.sessionId, iss: ISSUER, aud: AUDIENCE });
      expect(typeof claims.jti).toBe('string');
      expect(claims.jti.length).toBeGreaterThan(0);
      expect(Number.isInteger(claims.iat)).toBe(true);
      expect(claims.iat).toBeGreaterThanOrEqual(before - 1);
      expect(claims.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
      expect(claims.exp).toBe(claims.iat + 900);
      // Really signed with the configured secret, with HS256 and nothing else.
      expect(() => new JwtService().verify(token, { secret: TEST_SECRET, algorithms: ['HS256'] })).not.toThrow();

      const second = await login(t, user.email, user.password);
      expect(decodePart(second.token, 1).jti).not.toBe(claims.jti);
      expect(second.sessionId).not.toBe(res.body.data.sessionId);
    });

    it('writes one sessions row and one login audit row', async () => {
      const user = await register(t);
      const requestId = `login-${randomUUID()}`;
      const res = await post('login')
        .set('X-Request-Id', requestId)
        .set('User-Agent', 'http-e2e/1.0')
        .send({ email: user.email, password: user.password })
        .expect(200);
      const sessionId = res.body.data.sessionId;

      const sessions = await sessionRows(t, user.userId);
      expect(sessions).toHaveLength(1);
      expect(sessions[0]).toMatchObject({ id: sessionId, revoked_at: null, user_agent: 'http-e2e/1.0' });
      expect(typeof sessions[0].ip).toBe('string');
      // The session's absolute lifetime (SESSION_MAX_TTL), not the access token's.
      const ttl = (sessions[0].expires_at.getTime() - Date.now()) / 1000;
      expect(ttl).toBeGreaterThan(2_592_000 - 10);
      expect(ttl).toBeLessThanOrEqual(2_592_001);
      expect(sessions[0].refresh_token_hash).toBeInstanceOf(Buffer);
      expect(sessions[0].refresh_token_hash.toString('base64url')).not.toContain(res.body.data.refreshToken.slice(-43));

      const audits = await auditRows(t, { requestId });
      expect(audits).toHaveLength(1);
      expect(audits[0]).toMatchObject({
        event: 'login',
        user_id: user.userId,
        session_id: sessionId,
        request_id: requestId,
        user_agent: 'http-e2e/1.0',
      });
    });

    it('answers 401 "Credenciales inválidas" with identical answers for a wrong password and an unknown email', async () => {
      const user = await register(t);
      const wrong = await post('login').send({ email: user.email, password: 'wrong-password' });
      const unknown = await post('login').send({ email: uniqueEmail(), password: user.password });

      for (const res of [wrong, unknown]) {
        expect(res.status).toBe(401);
        expect(res.text).toBe(BAD_CREDENTIALS_BODY);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['content-type']).toMatch(/^application\/json/);
      }
      const comparable = (res: Response) => {
        const { date: _date, 'x-request-id': _id, ...rest } = res.headers;
        return rest;
      };
      expect(comparable(unknown)).toEqual(comparable(wrong));
      expect(await sessionRows(t, user.userId)).toHaveLength(0);
    });

    it('writes a login_failed audit row for a wrong password and for an unknown email, and no session', async () => {
      const user = await register(t);
      const wrongId = `failed-${randomUUID()}`;
      const unknownId = `failed-${randomUUID()}`;
      await post('login').set('X-Request-Id', wrongId).send({ email: user.email, password: 'wrong-password' }).expect(401);
      await post('login').set('X-Request-Id', unknownId).send({ email: uniqueEmail(), password: 'whatever-1' }).expect(401);

      const wrong = await auditRows(t, { requestId: wrongId });
      expect(wrong).toHaveLength(1);
      expect(wrong[0]).toMatchObject({ event: 'login_failed', user_id: user.userId, session_id: null });
      const unknown = await auditRows(t, { requestId: unknownId });
      expect(unknown).toHaveLength(1);
      expect(unknown[0]).toMatchObject({ event: 'login_failed', session_id: null });
      expect(await sessionRows(t, user.userId)).toHaveLength(0);
    });

    it('compares emails case-insensitively', async () => {
      const user = await register(t);
      const res = await post('login').send({ email: user.email.toUpperCase(), password: user.password });
      expect(res.status).toBe(200);
      expect(decodePart(res.body.data.accessToken, 1).sub).toBe(user.userId);

      const local = `Case-${randomUUID()}`;
      const mixed = await register(t, `${local}@Example.com`, 'password-123');
      const lower = await post('login').send({ email: `${local.toLowerCase()}@example.com`, password: 'password-123' });
      expect(lower.status).toBe(200);
      expect(decodePart(lower.body.data.accessToken, 1).sub).toBe(mixed.userId);
    });

    it('does not accept the password in another case', async () => {
      const user = await register(t, uniqueEmail(), 'Password-123');
      const res = await post('login').send({ email: user.email, password: 'password-123' });
      expect(res.status).toBe(401);
      expect(res.text).toBe(BAD_CREDENTIALS_BODY);
    });

    it.each([
      ['a malformed email', { email: 'nope', password: 'password-123' }],
      ['no password', { email: 'x@example.com' }],
      ['an empty password', { email: 'x@example.com', password: '' }],
      ['no email', { password: 'password-123' }],
      ['an unknown property', { email: 'x@example.com', password: 'password-123', admin: true }],
    ])('answers 400 with errors[] to %s', async (_, body) => {
      expectInvalidRequest(await post('login').send(body));
    });

    it('never stores the token or the password in audit rows, sessions or users', async () => {
      const password = `secret-${randomUUID()}`;
      const user = await register(t, uniqueEmail(), password);
      await post('login').send({ email: user.email, password: `${password}-wrong` }).expect(401);
      const { token, sessionId } = await login(t, user.email, password);
      await meRequest(t, token).expect(200);
      const second = await login(t, user.email, password);
      await logoutRequest(t, token).send({ token: second.token }).expect(200);
      await logoutRequest(t, token).expect(200);

      const audits = await auditRows(t, { userId: user.userId });
      expect(audits.map((a: { event: string }) => a.event).sort()).toEqual([
        'login',
        'login',
        'login_failed',
        'logout',
        'logout',
        'register',
      ]);
      const stored = JSON.stringify([
        audits,
        await sessionRows(t, user.userId),
        await userRow(t, { id: user.userId }),
      ]);
      expect(stored).toContain(sessionId); // the rows are the right ones
      for (const secret of [password, `${password}-wrong`, token, second.token]) expect(stored).not.toContain(secret);
      for (const part of [...token.split('.').slice(1), ...second.token.split('.').slice(1)]) {
        expect(stored).not.toContain(part);
      }
    });
  });

  describe('GET /api/v1/auth/me', () => {
    it('answers 200 with data { id, email, sessionId }', async () => {
      const user = await registerAndLogin(t);
      const res = await meRequest(t, user.token);
      expect(res.status).toBe(200);
      expect(res.body.success).toBe(true);
      expect(typeof res.body.message).toBe('string');
      expect(Object.keys(res.body).sort()).toEqual(['data', 'message', 'success']);
      expect(res.body.data).toEqual({ id: user.userId, email: user.email, sessionId: user.sessionId, amr: ['pwd'], authenticatedAt: expect.any(String) });
      expect(Object.keys(res.body.data)).toEqual(['id', 'email', 'sessionId', 'amr', 'authenticatedAt']);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });
  });

  describe('unknown routes and methods', () => {
    it.each([
      ['GET', '/api/v1/nope'],
      ['GET', '/nope'],
      ['GET', '/api/v1/auth/me/extra'],
      ['POST', '/api/v1/auth/nope'],
      ['POST', '/api/v2/auth/login'],
      ['GET', '/api/v1/auth/login'],
      ['GET', '/api/v1/auth/register'],
      ['GET', '/api/v1/auth/logout'],
      ['DELETE', '/api/v1/auth/me'],
      ['PUT', '/api/v1/auth/register'],
      ['PATCH', '/api/v1/auth/login'],
    ])('%s %s answers the 404 envelope', async (method, path) => {
      const req = t.http()[method.toLowerCase() as 'get' | 'post' | 'delete' | 'put' | 'patch'](path);
      const res = method === 'GET' || method === 'DELETE' ? await req : await req.send({ email: 'x@example.com' });
      expect(res.status).toBe(404);
      expect(res.text).toBe(NOT_FOUND_BODY);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['x-request-id']).toBeTruthy();
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['www-authenticate']).toBeUndefined();
    });

    it('answers 404 to an unknown route with a bearer token too, and 404 rather than 401 without one', async () => {
      const user = await registerAndLogin(t);
      const withToken = await t.http().get('/api/v1/auth/unknown').set(bearer(user.token));
      const without = await t.http().get('/api/v1/auth/unknown');
      for (const res of [withToken, without]) {
        expect(res.status).toBe(404);
        expect(res.text).toBe(NOT_FOUND_BODY);
      }
    });

    it.each([
      ['application/x-www-form-urlencoded', 'a=b'],
      ['text/plain', 'hello'],
      ['application/json', '{"broken":'],
      ['multipart/form-data; boundary=x', '--x--'],
    ])('answers 404, not 400, to a %s body sent to a route that does not exist: routing comes before the body', async (type, body) => {
      for (const path of ['/api/v1/nothing', '/api/v1/auth/nope', '/nothing']) {
        const res = await t.http().post(path).set('Content-Type', type).send(body);
        expect(res.status).toBe(404);
        expect(res.text).toBe(NOT_FOUND_BODY);
      }
    });
  });

  describe('bodies', () => {
    /** A JSON body of exactly `bytes` bytes. */
    const bodyOfSize = (bytes: number) => {
      const skeleton = JSON.stringify({ email: 'x@example.com', password: '' });
      const body = JSON.stringify({ email: 'x@example.com', password: 'p'.repeat(bytes - skeleton.length) });
      expect(Buffer.byteLength(body)).toBe(bytes);
      return body;
    };

    it.each(['register', 'login'])('POST %s answers the 413 envelope to a body over 16 KiB', async (path) => {
      const res = await post(path).set('Content-Type', 'application/json').send(bodyOfSize(BODY_LIMIT + 1));
      expect(res.status).toBe(413);
      expect(res.text).toBe(TOO_LARGE_BODY);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-request-id']).toBeTruthy();
    });

    it('answers 413 to a large logout body before looking at the token', async () => {
      const res = await post('logout')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ token: 'x'.repeat(40 * 1024) }));
      expect(res.status).toBe(413);
      expect(res.text).toBe(TOO_LARGE_BODY);
    });

    it('reads a body of exactly 16 KiB (then refuses it on its merits: 400, not 413)', async () => {
      const res = await post('register').set('Content-Type', 'application/json').send(bodyOfSize(BODY_LIMIT));
      expectInvalidRequest(res);
      expect(res.body.errors.join(' ')).toContain('password');
    });

    it.each(['register', 'login'])('POST %s answers 400 to text/plain, even holding valid JSON', async (path) => {
      const res = await post(path)
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify({ email: uniqueEmail(), password: 'password-123' }));
      expectInvalidRequest(res);
    });

    it.each(['register', 'login'])('POST %s answers 400 to form-urlencoded', async (path) => {
      const res = await post(path)
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send(`email=${encodeURIComponent(uniqueEmail())}&password=password-123`);
      expectInvalidRequest(res);
    });

    it.each(['register', 'login'])('POST %s answers 400 to malformed JSON', async (path) => {
      const res = await post(path).set('Content-Type', 'application/json').send('{"email": "x@example.com",');
      expectInvalidRequest(res);
    });

    it.each(['register', 'login'])('POST %s answers 400 to a JSON array, string, number or null', async (path) => {
      for (const body of ['[{"email":"x@example.com","password":"password-123"}]', '"text"', '42', 'null']) {
        const res = await post(path).set('Content-Type', 'application/json').send(body);
        expectInvalidRequest(res);
      }
    });

    it.each(['register', 'login'])('POST %s answers 400 to an empty body', async (path) => {
      expectInvalidRequest(await post(path).set('Content-Type', 'application/json'));
    });

    it('answers 400 to a prototype-poisoning body', async () => {
      const res = await post('register')
        .set('Content-Type', 'application/json')
        .send(`{"email":"${uniqueEmail()}","password":"password-123","__proto__":{"admin":true}}`);
      expectInvalidRequest(res);
    });

    it('accepts application/json with a charset', async () => {
      const res = await post('register')
        .set('Content-Type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ email: uniqueEmail(), password: 'password-123' }));
      expect(res.status).toBe(201);
    });
  });

  describe('headers', () => {
    /** One response of every kind the API gives. */
    async function everyKindOfResponse(): Promise<Array<[string, Response]>> {
      const user = await registerAndLogin(t);
      const other = await registerAndLogin(t);
      return [
        ['201 register', await post('register').send({ email: uniqueEmail(), password: 'password-123' })],
        ['200 login', await post('login').send({ email: user.email, password: user.password })],
        ['200 me', await meRequest(t, user.token)],
        ['400 validation', await post('register').send({ email: 'bad', password: 'x' })],
        ['400 malformed JSON', await post('login').set('Content-Type', 'application/json').send('{')],
        ['400 text/plain', await post('login').set('Content-Type', 'text/plain').send('hello')],
        ['401 credentials', await post('login').send({ email: user.email, password: 'wrong-password' })],
        ['401 token', await meRequest(t)],
        ['403 expired', await meRequest(t, signToken(expiredClaimsFor(user)))],
        ['409 taken', await post('register').send({ email: user.email, password: 'password-123' })],
        ['404 GET', await t.http().get('/api/v1/nope')],
        ['404 POST', await t.http().post('/api/v1/nope').send({})],
        [
          '413',
          await post('register').set('Content-Type', 'application/json').send(`{"email":"${'x'.repeat(BODY_LIMIT)}"}`),
        ],
        ['200 logout', await logoutRequest(t, other.token)],
      ];
    }

    let responses: Array<[string, Response]>;
    beforeAll(async () => {
      responses = await everyKindOfResponse();
    });

    it('gives each of them the status it is meant to have', () => {
      expect(responses.map(([name, res]) => [name, res.status])).toEqual(
        responses.map(([name]) => [name, Number(name.slice(0, 3))]),
      );
    });

    it('sets X-Content-Type-Options: nosniff and the other helmet headers on every response', () => {
      for (const [name, res] of responses) {
        const h = res.headers;
        expect({ name, value: h['x-content-type-options'] }).toEqual({ name, value: 'nosniff' });
        expect({ name, value: h['x-frame-options'] }).toEqual({ name, value: 'SAMEORIGIN' });
        expect({ name, value: h['strict-transport-security'] }).toEqual({ name, value: expect.stringMatching(/max-age=\d+/) });
        expect({ name, value: h['content-security-policy'] }).toEqual({ name, value: expect.stringContaining("default-src 'self'") });
        expect({ name, value: h['referrer-policy'] }).toEqual({ name, value: 'no-referrer' });
        expect({ name, value: h['cross-origin-opener-policy'] }).toEqual({ name, value: 'same-origin' });
        expect({ name, value: h['cross-origin-resource-policy'] }).toEqual({ name, value: 'same-origin' });
        expect({ name, value: h['x-dns-prefetch-control'] }).toEqual({ name, value: 'off' });
        expect({ name, value: h['x-permitted-cross-domain-policies'] }).toEqual({ name, value: 'none' });
      }
    });

    it('never sends X-Powered-By', () => {
      for (const [name, res] of responses) expect({ name, value: res.headers['x-powered-by'] }).toEqual({ name, value: undefined });
    });

    it('sets Cache-Control: no-store on auth responses, successes and errors alike', () => {
      for (const [name, res] of responses.filter(([name]) => !name.startsWith('404'))) {
        expect({ name, value: res.headers['cache-control'] }).toEqual({ name, value: 'no-store' });
      }
    });

    it('sets Content-Type application/json on every body', () => {
      for (const [name, res] of responses) {
        expect({ name, value: res.headers['content-type'] }).toEqual({
          name,
          value: expect.stringMatching(/^application\/json/),
        });
        expect(() => JSON.parse(res.text)).not.toThrow();
        expect(typeof res.body.success).toBe('boolean');
        expect(typeof res.body.message).toBe('string');
      }
    });

    it('sets WWW-Authenticate only on the token failures', () => {
      for (const [name, res] of responses) {
        const expected = name === '401 token' || name === '403 expired' ? 'Bearer error="invalid_token"' : undefined;
        expect({ name, value: res.headers['www-authenticate'] }).toEqual({ name, value: expected });
      }
    });

    it('sets a fresh X-Request-Id on every response when the client sent none', () => {
      const ids = responses.map(([, res]) => res.headers['x-request-id']);
      for (const id of ids) expect(id).toMatch(/^[\w.:+/=-]{1,128}$/);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('leaks nothing internal in any body', () => {
      for (const [, res] of responses) expectNothingInternal(res);
    });
  });

  describe('X-Request-Id', () => {
    it.each([
      ['GET /me without a token (401)', () => meRequest(t)],
      ['an unknown route (404)', () => t.http().get('/api/v1/nope')],
      ['malformed JSON (400)', () => post('login').set('Content-Type', 'application/json').send('{')],
      ['a successful register (201)', () => post('register').send({ email: uniqueEmail(), password: 'password-123' })],
      [
        'a body too large (413)',
        () => post('register').set('Content-Type', 'application/json').send(`{"email":"${'x'.repeat(BODY_LIMIT)}"}`),
      ],
    ])('echoes a sane one on %s', async (_, send) => {
      const res = await send().set('X-Request-Id', 'abc-123');
      expect(res.headers['x-request-id']).toBe('abc-123');
    });

    it.each([
      ['300 characters', 'a'.repeat(300)],
      ['spaces', 'abc 123'],
      ['double quotes', 'abc"123'],
      ['single quotes', "abc'123"],
      ['angle brackets', '<script>alert(1)</script>'],
      ['an empty value', ''],
    ])('replaces one with %s by a fresh one', async (_, sent) => {
      const res = await meRequest(t).set('X-Request-Id', sent);
      expect(res.status).toBe(401);
      expect(res.text).toBe(INVALID_TOKEN_BODY);
      const id = res.headers['x-request-id'];
      expect(id).toMatch(/^[\w.:+/=-]{1,128}$/);
      expect(id).not.toBe(sent);
      const again = await meRequest(t).set('X-Request-Id', sent);
      expect(again.headers['x-request-id']).not.toBe(id);
    });

    it('writes the id the response carries into the audit row, sane or replaced', async () => {
      const user = await register(t);
      const sane = `sane-${randomUUID()}`;
      const a = await post('login').set('X-Request-Id', sane).send({ email: user.email, password: user.password }).expect(200);
      expect(a.headers['x-request-id']).toBe(sane);
      expect(await auditRows(t, { requestId: sane })).toHaveLength(1);

      const b = await post('login')
        .set('X-Request-Id', `insane "${'z'.repeat(300)}"`)
        .send({ email: user.email, password: user.password })
        .expect(200);
      const replaced = b.headers['x-request-id'];
      const rows = await auditRows(t, { requestId: replaced });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ event: 'login', session_id: b.body.data.sessionId });
    });
  });

  describe('nothing internal leaks', () => {
    it('answers odd requests with envelopes free of stacks, SQL and library messages', async () => {
      const user = await registerAndLogin(t);
      const responses = await Promise.all([
        post('register').set('Content-Type', 'application/json').send('{"email":'),
        post('register').set('Content-Type', 'application/json').send('{"email":"a\\u0000b@example.com","password":"password-123"}'),
        post('register').set('Content-Type', 'application/json').send('{"email":"x@example.com","password":"password-123","a\\u0000b":1}'),
        post('login').set('Content-Type', 'application/json').send('{"email":"x@example.com","password":"password-123","constructor":{"prototype":{"a":1}}}'),
        post('login').set('Content-Type', 'application/json').send('{"email":["x@example.com"],"password":{"$ne":null}}'),
        post('login').set('Content-Type', 'application/json').send(`{"email":"x@example.com' OR '1'='1","password":"x"}`),
        post('login').set('Content-Type', 'application/xml').send('<a/>'),
        post('login').set('Content-Type', 'multipart/form-data; boundary=x').send('--x--'),
        post('login').set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('not gzip'),
        meRequest(t).set('Authorization', `Bearer ${'a'.repeat(5000)}`),
        meRequest(t).set('Authorization', 'Bearer a.b.c'),
        meRequest(t, `${user.token.split('.')[0]}.%%%.${user.token.split('.')[2]}`),
        logoutRequest(t, user.token).set('Content-Type', 'application/json').send('{"token": [1, 2'),
        t.http().get(`/api/v1/auth/me?${'q='.repeat(2000)}`),
      ]);
      for (const res of responses) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.body.success).toBe(false);
        expect(res.headers['x-request-id']).toBeTruthy();
        expect(res.headers['x-powered-by']).toBeUndefined();
        expectNothingInternal(res);
      }
      // The session survived all of it.
      await meRequest(t, user.token).expect(200);
    });

    it.each([
      ['GET', '/api/v1/auth/%'],
      ['GET', '/api/v1/%E0%A4%A'],
      ['POST', '/api/v1/auth/login%'],
    ])('answers a malformed URL (%s %s) with an envelope, not Fastify\'s own error', async (method, path) => {
      const req = method === 'GET' ? t.http().get(path) : t.http().post(path).send({ email: 'x@example.com' });
      const res = await req.set('X-Request-Id', 'bad-url-1');
      // A URL that cannot be decoded is either a bad request or no such resource; both are envelopes.
      expect([400, 404]).toContain(res.status);
      expect(res.body).toMatchObject({
        success: false,
        message: res.status === 400 ? MESSAGES.invalidRequest : MESSAGES.notFound,
      });
      expect(Object.keys(res.body).every((k) => ['success', 'message', 'errors'].includes(k))).toBe(true);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['x-request-id']).toBe('bad-url-1');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
      expectNothingInternal(res);
    });
  });
});
