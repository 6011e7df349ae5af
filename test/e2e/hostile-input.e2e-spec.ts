import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdminServer } from '../../src/admin/admin.server.js';
import { expectInvalidRequest, expectNothingInternal } from '../support/expectations.js';
import { INTROSPECT, INTROSPECTION_CLIENT, INTROSPECTION_CLIENTS } from '../support/introspection.js';
import { parseResponses, rawConnection, requestHead } from '../support/raw-http.js';
import { rowCount, userRow } from '../support/rows.js';
import { startApp, type TestApp } from '../support/app.js';
import { envelope, MESSAGES } from '../support/messages.js';
import { API, bearer, loginRequest, meRequest } from '../support/requests.js';
import { register, registerAndLogin, uniqueEmail } from '../support/users.js';

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

  describe('extra keys named like members of Object.prototype', () => {
    it.each(['toString', 'valueOf', 'hasOwnProperty', 'constructor'])('%s: a 400 naming the key, like any extra key; the session goes on', async (key) => {
      const res = await postRaw('logout', JSON.stringify({ [key]: 1 }));
      expectInvalidRequest(res);
      expect(res.body.errors).toStrictEqual([`${key} no está permitido`]);
      await meRequest(t, token).expect(200);
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

describe('text the database cannot hold, or that is not text, anywhere in a request', () => {
  const ADMIN_TOKEN = 'admin-token-0123456789-abcdefghijklmnop';
  let t: TestApp;
  let user: Awaited<ReturnType<typeof registerAndLogin>>;
  const admin = () => request(`http://127.0.0.1:${t.app.get(AdminServer).port}`);
  const asAdmin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  beforeAll(async () => {
    t = await startApp({ ADMIN_PORT: '0', ADMIN_TOKENS: ADMIN_TOKEN, INTROSPECTION_CLIENTS });
    user = await registerAndLogin(t);
  });
  afterAll(() => t.close());

  const expectInvalidQuery = (res: Response, label: string) => {
    expect(res.status, label).toBe(400);
    expect(res.body, label).toStrictEqual({
      success: false,
      message: MESSAGES.invalidRequest,
      errors: ['La consulta contiene texto que no es válido'],
    });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-request-id']).toBeTruthy();
  };
  const expectNotFound = (res: Response, label: string) => {
    expect(res.status, label).toBe(404);
    expect(res.text, label).toBe(envelope(MESSAGES.notFound));
  };

  // A NUL, other controls, invalid UTF-8, an encoded surrogate, a broken escape.
  const BAD_TEXT = ['%00', 'a%00b', '%01', '%0A', '%7F', '%C2%85', '%C3%28', '%ED%A0%80', '%80', '%C0%AF', 'a%2', '%'];

  it('answers 400 in the envelope, not 500, to a query parameter that is not text, on the operator API', async () => {
    for (const bad of BAD_TEXT) {
      expectInvalidQuery(await admin().get(`/admin/v1/users?email=${bad}`).set(asAdmin), `email=${bad}`);
      expectInvalidQuery(await admin().get(`/admin/v1/audit?event=${bad}`).set(asAdmin), `event=${bad}`);
      expectInvalidQuery(await admin().get(`/admin/v1/users?${bad}=x`).set(asAdmin), `${bad}=x`);
    }
    // Text that is text still searches.
    const found = await admin().get(`/admin/v1/users?email=${encodeURIComponent(user.email.slice(0, 12))}`).set(asAdmin).expect(200);
    expect(found.body.data.users.map((u: { id: string }) => u.id)).toContain(user.userId);
    await admin().get('/admin/v1/users?email=jos%C3%A9').set(asAdmin).expect(200);
  });

  it('answers the same on every public route, before any guard: with or without credentials, whatever the parameter', async () => {
    for (const bad of BAD_TEXT) {
      expectInvalidQuery(await t.http().get(`${API}/sessions?cursor=${bad}`).set(bearer(user.token)), `sessions ${bad}`);
      expectInvalidQuery(await t.http().get(`${API}/me?x=${bad}`), `me ${bad}`);
      expectInvalidQuery(await t.http().get(`/api/v1/events?after=${bad}`), `events ${bad}`);
      expectInvalidQuery(await t.http().get(`/health?x=${bad}`), `health ${bad}`);
    }
    // Introspection answers in OAuth's words, here too.
    const res = await t.http().post(`${INTROSPECT}?x=%00`).auth(INTROSPECTION_CLIENT.id, INTROSPECTION_CLIENT.secret).type('form').send({ token: user.token });
    expect(res.status).toBe(400);
    expect(res.body).toStrictEqual({ error: 'invalid_request' });
  });

  it('answers a path parameter holding a control character with the 404 of an unknown id, on both ports', async () => {
    for (const bad of ['%00', 'a%00b', '%01', '%7F', '%C2%85']) {
      expectNotFound(await t.http().delete(`${API}/sessions/${bad}`).set(bearer(user.token)), `DELETE sessions/${bad}`);
      expectNotFound(await admin().get(`/admin/v1/users/${bad}/sessions`).set(asAdmin), `users/${bad}/sessions`);
      expectNotFound(await admin().delete(`/admin/v1/sessions/${bad}`).set(asAdmin), `DELETE admin sessions/${bad}`);
      expectNotFound(await admin().post(`/admin/v1/users/${bad}/lock`).set(asAdmin), `lock ${bad}`);
    }
    // Undecodable, the URL itself is malformed: the router's 400, still the envelope.
    for (const bad of ['%C3%28', '%ED%A0%80']) {
      const res = await t.http().delete(`${API}/sessions/${bad}`).set(bearer(user.token));
      expectInvalidRequest(res);
      expect(res.body.errors).toEqual(['La URL no es válida']);
    }
    await meRequest(t, user.token).expect(200);
  });

  it('answers 400, not 500, to a NUL in any string of a JSON body, and stores nothing', async () => {
    const users = await rowCount(t, 'users');
    const email = uniqueEmail();
    for (const [path, body] of [
      [`${API}/register`, { email: `nul\u0000${email}`, password: 'password-123' }],
      [`${API}/register`, { email, password: 'pass\u0000word-123' }],
      [`${API}/login`, { email: user.email, password: `${user.password}\u0000` }],
      [`${API}/password/forgot`, { email: `${user.email}\u0000` }],
      [`${API}/refresh`, { refreshToken: 'x\u0000' }],
      [`${API}/logout`, { token: '\u0000' }],
      [`${API}/register`, { email, password: 'password-123', '\u0000': 1 }],
    ] as const) {
      const res = await t.http().post(path).set(bearer(user.token)).send(body);
      expectInvalidRequest(res);
      expect(res.body.errors, `${path} ${JSON.stringify(body)}`).toEqual(['El cuerpo contiene un carácter nulo']);
    }
    const roles = await admin().put(`/admin/v1/users/${user.userId}/roles`).set(asAdmin).send({ roles: ['a\u0000'] });
    expect(roles.status).toBe(400);
    expect(await rowCount(t, 'users')).toBe(users);
    await meRequest(t, user.token).expect(200);
  });
});

describe('emails that two mail systems would read as different addresses', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  /** Forms RFC 5322 allows (or mail software takes) that reach another mailbox than the string says. */
  const disguises = (local: string) => [
    `"${local}"@example.com`,
    `"${local}@example.com"@example.com`,
    `${local}(comment)@example.com`,
    `(comment)${local}@example.com`,
    `${local}@[127.0.0.1]`,
    `${local}@[IPv6:::1]`,
    `@relay.example.com:${local}@example.com`,
    `${local}%example.com@relay.example.com`,
    `example.com!${local}@relay.example.com`,
    `${local}\\@example.com`,
    `"${local}\\"@example.com`,
    `${local}@example.com.`,
    `${local}@ex\u00e1mple.com`,
    `\uff56${local}@example.com`,
    `${local}\u200b@example.com`,
  ];

  it('refuses them on register with 400: no second account whose mail reaches the first one', async () => {
    const victim = await register(t);
    const local = victim.email.split('@')[0]!;
    const users = await rowCount(t, 'users');
    for (const email of disguises(local)) {
      const res = await t.http().post(`${API}/register`).send({ email, password: 'password-123' });
      expect(res.status, email).toBe(400);
      expect(res.body, email).toStrictEqual({ success: false, message: MESSAGES.invalidRequest, errors: ['email debe ser un correo válido'] });
      expectNothingInternal(res);
    }
    expect(await rowCount(t, 'users')).toBe(users);
  });

  it('refuses them on login and forgot with the same 400, and still accepts the plain address', async () => {
    const victim = await register(t);
    const local = victim.email.split('@')[0]!;
    for (const email of disguises(local)) {
      const login = await loginRequest(t, email, victim.password);
      expect(login.status, email).toBe(400);
      expect(login.body.errors, email).toEqual(['email debe ser un correo válido']);
      const forgot = await t.http().post(`${API}/password/forgot`).send({ email });
      expect(forgot.status, email).toBe(400);
    }
    await loginRequest(t, victim.email.toUpperCase(), victim.password).expect(200);
    await t.http().post(`${API}/password/forgot`).send({ email: victim.email }).expect(202);
  });

  it("accepts the forms real addresses take: dots, +tags, hyphens, apostrophes, letters of any script, punycode", async () => {
    const id = randomUUID().slice(0, 8);
    for (const email of [`first.last+tag-${id}@example.com`, `o'brien-${id}@sub.example.co.uk`, `jos\u00e9-${id}@example.com`, `ana-${id}@xn--exmple-cua.com`]) {
      await t.http().post(`${API}/register`).send({ email, password: 'password-123' }).expect(201);
    }
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
