import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectInvalidRequest } from '../support/expectations.js';
import { parseResponses, rawConnection, requestHead } from '../support/raw-http.js';
import { rowCount, userRow } from '../support/rows.js';
import { startApp, type TestApp } from '../support/app.js';
import { MESSAGES } from '../support/messages.js';
import { API, bearer, loginRequest, meRequest } from '../support/requests.js';
import { register, registerAndLogin } from '../support/users.js';

// Bodies that once answered 500 or slipped through validation: each must now be a 400
// envelope, and change nothing.

const ROUTES = ['register', 'login', 'logout'] as const;

describe('hostile bodies', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startApp();
    ({ token } = await registerAndLogin(t));
  });
  afterAll(() => t.close());

  /** Sends `raw` as is (supertest would re-encode a lone surrogate as U+FFFD). */
  const postRaw = (route: (typeof ROUTES)[number], raw: string) =>
    t.http().post(`${API}/${route}`).set(bearer(token)).set('Content-Type', 'application/json').send(raw);

  describe('strings that are not well-formed Unicode', () => {
    it.each(ROUTES)('POST %s: a lone surrogate in email, password or token is a 400', async (route) => {
      for (const raw of [
        '{"email":"a\\ud800b@example.com","password":"xxxxxxxx"}',
        `{"email":"${randomUUID()}@example.com","password":"pass\\udbffword"}`,
        '{"token":"abc\\udc00"}',
        '{"\\ud800":"key, not value"}',
      ]) {
        const res = await postRaw(route, raw);
        expectInvalidRequest(res);
        expect(res.body.errors).toEqual(['El cuerpo contiene texto que no es Unicode válido']);
      }
    });

    it('does not let two different lone surrogates open one account', async () => {
      const email = `surrogate-${randomUUID()}@example.com`;
      const users = await rowCount(t, 'users');
      expectInvalidRequest(await postRaw('register', `{"email":"${email}","password":"pass\\ud800word"}`));
      expectInvalidRequest(await postRaw('login', `{"email":"${email}","password":"pass\\udbffword"}`));
      expect(await rowCount(t, 'users')).toBe(users);
    });

    it('still accepts a password with a real astral character (a surrogate pair)', async () => {
      const email = `emoji-${randomUUID()}@example.com`;
      await postRaw('register', `{"email":"${email}","password":"pass\\ud83d\\ude00word"}`).expect(201);
      await loginRequest(t, email, 'pass😀word').expect(200);
    });
  });

  describe('deeply nested JSON', () => {
    // ~2.6 KB, ~1,300 levels: enough to overflow the stack of a recursive transform.
    const deep = (field: string) => `{"${field}":${'['.repeat(1300)}${']'.repeat(1300)}}`;

    it.each(ROUTES)('POST %s: 1,300 nested arrays in a field are a 400, in any field', async (route) => {
      for (const field of ['email', 'password', 'token', 'other']) {
        const res = await postRaw(route, deep(field));
        expectInvalidRequest(res);
        expect(res.body.errors).toEqual(['El cuerpo JSON está demasiado anidado']);
      }
    });

    it('refuses nesting deeper than 16 and validates anything shallower on its merits', async () => {
      const nested = (depth: number) => `{"email":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
      expect((await postRaw('login', nested(17))).body.errors).toEqual(['El cuerpo JSON está demasiado anidado']);
      const res = await postRaw('login', nested(16));
      expectInvalidRequest(res);
      expect(res.body.errors).toContain('email debe ser un correo válido');
    });

    it('ends no session', async () => {
      await postRaw('logout', `{"token":${'['.repeat(1300)}${']'.repeat(1300)}}`).expect(400);
      await meRequest(t, token).expect(200);
    });
  });

  describe('email normalization: NFC, then lowercase, then the length check', () => {
    /** An email of `length` UTF-16 units whose local part starts with `prefix`. */
    const emailOf = (prefix: string, length: number) => {
      const domain = `${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.example.com`;
      const local = `${prefix}${randomUUID().slice(0, 8)}`;
      return `${local}${'x'.repeat(length - local.length - domain.length - 1)}@${domain}`;
    };

    it('answers 400, not 500, to 254 characters that lowercase to 255 (İ)', async () => {
      const email = emailOf('İ', 254);
      expect(email.length).toBe(254);
      expect(email.toLowerCase().length).toBe(255);
      for (const route of ['register', 'login'] as const) {
        const res = await t.http().post(`${API}/${route}`).send({ email, password: 'password-123' });
        expectInvalidRequest(res);
        expect(res.body.errors).toContain('email no puede superar 254 caracteres');
      }
    });

    it('accepts 254 characters after normalization, and stores exactly that', async () => {
      const email = emailOf('İ', 253);
      const res = await t.http().post(`${API}/register`).send({ email, password: 'password-123' }).expect(201);
      expect([...res.body.data.email]).toHaveLength(254);
      const row = await userRow(t, { id: res.body.data.id });
      expect(row.email).toBe(email.toLowerCase());
    });

    it('makes composed and decomposed spellings one account', async () => {
      const id = randomUUID().slice(0, 8);
      const composed = `jos\u00e9-${id}@example.com`;
      const decomposed = `jose\u0301-${id}@EXAMPLE.com`;
      const user = await register(t, decomposed, 'password-123');
      const row = await userRow(t, { id: user.userId });
      expect(row.email).toBe(composed);
      await loginRequest(t, composed, 'password-123').expect(200);
      await loginRequest(t, decomposed, 'password-123').expect(200);
      const again = await t.http().post(`${API}/register`).send({ email: composed.toUpperCase(), password: 'password-123' });
      expect(again.status).toBe(409);
      expect(again.body).toStrictEqual({ success: false, message: MESSAGES.emailTaken });
    });
  });
});

describe('over a raw connection: bytes and timing no HTTP client library would send', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startApp();
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as net.AddressInfo).port;
  });
  afterAll(() => t.close());

  /** Sends `text` (headers promising more than follows); what the server answers, and when it closes. */
  const stall = async (text: string) => {
    const connection = await rawConnection(port);
    connection.write(text);
    const ms = await Promise.race([connection.closed, sleep(20_000).then(() => Infinity)]);
    connection.destroy();
    return { ms, received: connection.received(), responses: parseResponses(connection.received()) };
  };

  it.each([
    ['register', '{"email":"%s","password":"pass\xffword1"}'],
    ['login', '{"email":"%s","password":"pass\xfeword1"}'],
  ])('POST %s: bytes that are not UTF-8 are a 400, not decoded to U+FFFD', async (route, template) => {
    // \xff and \xfe as one raw byte each: two passwords that decoding would make one.
    const body = Buffer.from(template.replace('%s', `bytes-${randomUUID()}@example.com`), 'latin1');
    const connection = await rawConnection(port);
    connection.write(Buffer.concat([Buffer.from(requestHead('POST', `${API}/${route}`, body.length)), body]));
    await vi.waitFor(() => expect(parseResponses(connection.received())).toHaveLength(1));
    connection.destroy();
    const [res] = parseResponses(connection.received());
    expect(res!.status).toBe(400);
    expect(JSON.parse(res!.body)).toStrictEqual({
      success: false,
      message: MESSAGES.invalidRequest,
      errors: ['El cuerpo contiene texto que no es Unicode válido'],
    });
  });

  it.each([
    ['an invalid request line', 'HEAD zz HTTP/1.1\r\nHost: localhost\r\n\r\n', 400],
    ['headers over 16 KiB', `HEAD ${API}/me HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ])('answers HEAD with %s by headers alone, as HTTP requires', async (_, text, status) => {
    const connection = await rawConnection(port);
    connection.write(text);
    await connection.closed;
    const received = connection.received();
    expect(received).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(received.endsWith('\r\n\r\n')).toBe(true);
    expect(received).toMatch(/\r\nContent-Type: application\/json/);
  });

  it('is answered 408 with the envelope and its own request id, once, and its connection closed after 10 s', async () => {
    // Side by side, to wait the 10 s once: a login whose body stops, and a HEAD answered at once
    // whose promised body never comes (no second, unsolicited answer may follow the first).
    const [login, head] = await Promise.all([
      stall(`${requestHead('POST', `${API}/login`, 100, { 'X-Request-Id': 'stalled-login' })}{"email":`),
      stall(requestHead('HEAD', '/health', 5)),
    ]);

    expect(login.ms).toBeGreaterThanOrEqual(9_000);
    expect(login.ms).toBeLessThan(13_000);
    expect(login.responses).toHaveLength(1);
    const [res] = login.responses;
    expect(res!.status).toBe(408);
    expect(res!.headers).toMatchObject({
      connection: 'close',
      'x-content-type-options': 'nosniff',
      'x-request-id': 'stalled-login',
    });
    expect(res!.body).toBe(JSON.stringify({ success: false, message: 'La solicitud tardó demasiado' }));

    expect(head.received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(head.received).toMatch(/^HTTP\/1\.1 200 /);
  }, 25_000);
});
