import { readFileSync } from 'node:fs';
import { Controller, Get, Module } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors/error-code.js';
import { startApp, type TestApp } from '../support/app.js';
import { MESSAGES } from '../support/messages.js';

type Json = Record<string, any>;

const UNAVAILABLE = 'Servicio no disponible';

/**
 * Every route and, for each, every status the contract gives it with its exact message.
 * `null`: the contract fixes no message for it (checked as a non-empty string).
 * 413 applies to every route that takes a body, 500 to every route that touches the database,
 * 429 to the rate-limited ones (login, logout).
 */
const ROUTES: { path: string; method: 'get' | 'post'; bearer: boolean; statuses: Record<number, string | null> }[] = [
  {
    path: '/api/v1/auth/register',
    method: 'post',
    bearer: false,
    statuses: {
      201: MESSAGES.registered,
      400: MESSAGES.invalidRequest,
      409: MESSAGES.emailTaken,
      413: MESSAGES.tooLarge,
      500: MESSAGES.internal,
    },
  },
  {
    path: '/api/v1/auth/login',
    method: 'post',
    bearer: false,
    statuses: {
      200: MESSAGES.loggedIn,
      400: MESSAGES.invalidRequest,
      401: MESSAGES.badCredentials,
      413: MESSAGES.tooLarge,
      429: MESSAGES.tooMany,
      500: MESSAGES.internal,
    },
  },
  {
    path: '/api/v1/auth/me',
    method: 'get',
    bearer: true,
    statuses: {
      200: null,
      401: MESSAGES.invalidToken,
      403: MESSAGES.expired,
      500: MESSAGES.internal,
    },
  },
  {
    path: '/api/v1/auth/logout',
    method: 'post',
    bearer: true,
    statuses: {
      200: MESSAGES.loggedOut,
      400: MESSAGES.invalidRequest,
      401: MESSAGES.invalidToken,
      403: MESSAGES.expired,
      413: MESSAGES.tooLarge,
      429: MESSAGES.tooMany,
      500: MESSAGES.internal,
    },
  },
  {
    path: '/health',
    method: 'get',
    bearer: false,
    statuses: {
      200: null,
      503: UNAVAILABLE,
    },
  },
  {
    path: '/health/live',
    method: 'get',
    bearer: false,
    statuses: {
      200: 'Servicio disponible',
    },
  },
  {
    path: '/health/ready',
    method: 'get',
    bearer: false,
    statuses: {
      200: null,
      503: UNAVAILABLE,
    },
  },
];

/**
 * The example body of a documented response, as Swagger UI shows it: `example`, the first of
 * `examples`, or one built from the schema's own examples.
 */
function exampleOf(doc: Json, response: Json | undefined): Json | undefined {
  const media = response?.content?.['application/json'];
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = Object.values(media.examples ?? {})[0] as Json | undefined;
  if (first) return first.value;
  return fromSchema(doc, media.schema);
}

/** A schema with its `$ref` followed. */
function schemaOf(doc: Json, schema: Json): Json {
  return schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema;
}

function fromSchema(doc: Json, schema: Json | undefined): any {
  if (!schema) return undefined;
  if (schema.$ref) return fromSchema(doc, doc.components.schemas[schema.$ref.split('/').pop()]);
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return schema.enum[0];
  if (schema.type === 'array') return [fromSchema(doc, schema.items)];
  if (schema.type === 'object' || schema.properties) {
    return Object.fromEntries(
      Object.entries((schema.properties ?? {}) as Json)
        .map(([name, property]) => [name, fromSchema(doc, property)])
        .filter(([, value]) => value !== undefined),
    );
  }
  return undefined;
}

describe('API documentation', () => {
  let t: TestApp;
  let doc: Json;

  beforeAll(async () => {
    t = await startApp();
    const res = await t.http().get('/api/docs-json');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(() => t.close());

  it('serves Swagger UI at /api/docs as HTML, with its scripts and styles loadable', async () => {
    const res = await t.http().get('/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/swagger-ui/i);

    const assets = [...res.text.matchAll(/<(?:script|link)[^>]+(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const url = new URL(asset, 'http://host/api/docs');
      const loaded = await t.http().get(url.pathname);
      expect(loaded.status, url.pathname).toBe(200);
    }
  });

  it('serves an OpenAPI 3 document as JSON at /api/docs-json', async () => {
    const res = await t.http().get('/api/docs-json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(doc.openapi).toMatch(/^3\./);
    expect(typeof doc.info?.title).toBe('string');
  });

  it('lists every route of the API', () => {
    for (const route of ROUTES) {
      expect(doc.paths?.[route.path]?.[route.method], `${route.method.toUpperCase()} ${route.path}`).toBeDefined();
    }
  });

  it.each(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    'documents every status of %s with an example envelope carrying the contract message',
    (_, route) => {
      const op = doc.paths[route.path][route.method];
      for (const [status, message] of Object.entries(route.statuses)) {
        const response = op.responses?.[status];
        expect(response, `${route.path} ${status}`).toBeDefined();
        const example = exampleOf(doc, response);
        expect(example, `${route.path} ${status} example`).toBeDefined();
        expect(example!.success, `${route.path} ${status} success`).toBe(Number(status) < 400);
        if (message === null) {
          expect(typeof example!.message).toBe('string');
          expect(example!.message.length).toBeGreaterThan(0);
        } else {
          expect(example!.message, `${route.path} ${status} message`).toBe(message);
        }
        if (status === '400') {
          expect(Array.isArray(example!.errors) && example!.errors.length > 0, `${route.path} 400 errors`).toBe(true);
        }
      }
    },
  );

  it('shows the data of each success as the contract gives it', () => {
    const ok = (path: string, method: string, status: number) => exampleOf(doc, doc.paths[path][method].responses[status]);
    expect(Object.keys(ok('/api/v1/auth/register', 'post', 201)!.data).sort()).toEqual(['email', 'id']);
    const login = ok('/api/v1/auth/login', 'post', 200)!.data;
    expect(Object.keys(login).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'sessionId', 'tokenType']);
    expect(login.tokenType).toBe('Bearer');
    expect(typeof login.expiresIn).toBe('number');
    expect(Object.keys(ok('/api/v1/auth/me', 'get', 200)!.data).sort()).toEqual(['amr', 'authenticatedAt', 'email', 'id', 'sessionId']);
    // data only with a scope: { revokedSessions }.
    const logout = schemaOf(doc, doc.paths['/api/v1/auth/logout'].post.responses[200].content['application/json'].schema);
    expect(logout.required).toStrictEqual(['success', 'message']);
    expect(Object.keys(ok('/api/v1/auth/logout', 'post', 200)!.data)).toEqual(['revokedSessions']);
  });

  it('documents the optional logout body with its token field', () => {
    const body = doc.paths['/api/v1/auth/logout'].post.requestBody;
    expect(body).toBeDefined();
    expect(body.required ?? false).toBe(false);
    let schema = body.content['application/json'].schema;
    if (schema.$ref) schema = doc.components.schemas[schema.$ref.split('/').pop()];
    expect(schema.properties.token.type).toBe('string');
    expect(schema.required ?? []).not.toContain('token');
  });

  it('has a bearer security scheme, used by logout and me and by nothing public', () => {
    const schemes: Json = doc.components?.securitySchemes ?? {};
    const bearerNames = Object.entries(schemes)
      .filter(([, s]) => s.type === 'http' && String(s.scheme).toLowerCase() === 'bearer')
      .map(([name]) => name);
    expect(bearerNames.length).toBeGreaterThan(0);

    for (const route of ROUTES) {
      const op = doc.paths[route.path][route.method];
      const requirements: Json[] = op.security ?? doc.security ?? [];
      const usesBearer = requirements.some((req) => Object.keys(req).some((name) => bearerNames.includes(name)));
      expect(usesBearer, `${route.method.toUpperCase()} ${route.path} uses the bearer scheme`).toBe(route.bearer);
    }
  });
});

describe('the OpenAPI document, for client generators', () => {
  let t: TestApp;
  let doc: Json;
  beforeAll(async () => {
    t = await startApp();
    doc = (await t.http().get('/api/docs-json').expect(200)).body;
  });
  afterAll(() => t.close());

  const operations = () =>
    Object.entries(doc.paths as Json).flatMap(([path, ops]) => Object.entries(ops as Json).map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op })));

  it('is the committed openapi.json, byte for byte once parsed: `npm run openapi` writes it again', () => {
    const committed = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8'));
    expect(doc, 'openapi.json differs from the served document: run `npm run openapi` and commit it').toStrictEqual(committed);
  });

  it('names every operation by its handler, once, and tags it', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids).toEqual(
      expect.arrayContaining(['register', 'login', 'refresh', 'me', 'logout', 'listSessions', 'endSession', 'changePassword', 'liveness', 'readiness']),
    );
    expect(new Set(ids).size).toBe(ids.length);
    for (const { where, op } of operations()) {
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.tags?.length, `${where} tags`).toBeGreaterThan(0);
    }
  });

  it('gives every response a schema, and every success a typed data', () => {
    for (const { where, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses as Json)) {
        // The stream's success is text/event-stream; introspection answers errors in OAuth's words.
        const type = where === 'GET /api/v1/events/stream' && status === '200' ? 'text/event-stream' : 'application/json';
        const schema = response.content?.[type]?.schema;
        expect(schema, `${where} ${status}`).toBeDefined();
        const errorBody = where === 'POST /api/v1/auth/introspect' ? 'OAuthErrorDto' : 'ErrorEnvelopeDto';
        if (Number(status) >= 400) expect(schema.$ref, `${where} ${status}`).toBe(`#/components/schemas/${errorBody}`);
        else if (type === 'application/json') {
          // A named component, so that a generator names its type: no inline success object.
          expect(schema.$ref, `${where} ${status} is a named component`).toMatch(/^#\/components\/schemas\/\w+$/);
          const data = schemaOf(doc, schema).properties?.data;
          if (data) expect(data.$ref, `${where} ${status} data`).toMatch(/^#\/components\/schemas\//);
        }
      }
    }
    const tokens = doc.components.schemas.TokensDto;
    expect([...tokens.required].sort()).toStrictEqual(['accessToken', 'expiresIn', 'sessionId', 'tokenType']);
    expect(tokens.properties.refreshToken.type).toBe('string');
  });

  it('names each success envelope after its handler, with its message and typed data', () => {
    const login = doc.components.schemas.LoginResponse;
    expect(login.required).toStrictEqual(['success', 'message', 'data']);
    expect(login.properties.success).toStrictEqual({ type: 'boolean', enum: [true] });
    expect(login.properties.message.example).toBe(MESSAGES.loggedIn);
    expect(login.properties.data.$ref).toBe('#/components/schemas/TokensDto');
    expect(doc.paths['/api/v1/auth/login'].post.responses[200].content['application/json'].schema.$ref).toBe('#/components/schemas/LoginResponse');
  });

  it('types every limit as an integer with its bounds, and every id, user and session as a uuid', () => {
    const limits = operations().flatMap(({ where, op }) => ((op.parameters ?? []) as Json[]).filter((p) => p.name === 'limit').map((p) => ({ where, p })));
    expect(limits.length).toBeGreaterThan(1);
    for (const { where, p } of limits) {
      expect(p.schema.type, `${where} limit`).toBe('integer');
      expect(p.schema.minimum, `${where} limit`).toBe(1);
      expect(p.schema.maximum, `${where} limit`).toBeGreaterThanOrEqual(100);
    }
    const sessionsLimit = limits.find(({ where }) => where === 'GET /api/v1/auth/sessions')!.p.schema;
    expect([sessionsLimit.minimum, sessionsLimit.maximum, sessionsLimit.default]).toStrictEqual([1, 100, 50]);

    for (const { where, op } of operations()) {
      for (const p of (op.parameters ?? []) as Json[]) {
        if (p.in === 'path' && /^(id|\w+Id)$/.test(p.name)) expect(p.schema.format, `${where} ${p.name}`).toBe('uuid');
      }
    }
    expect(doc.paths['/api/v1/auth/sessions/{id}'].delete.parameters.find((p: Json) => p.name === 'id').schema.format).toBe('uuid');
    for (const [name, schema] of Object.entries(doc.components.schemas as Json)) {
      for (const [property, value] of Object.entries((schema.properties ?? {}) as Json)) {
        if (/^(userId|sessionId|sub|sid)$/.test(property)) expect(value.format, `${name}.${property}`).toBe('uuid');
        if (/At$|^(timestamp|denyUntil)$/.test(property)) expect(value.format, `${name}.${property}`).toBe('date-time');
        if (value.type === 'number') throw new Error(`${name}.${property} is a number: say integer, or why not`);
      }
    }
  });

  it('lists on every operation the errors any route of its kind answers, with the statuses and messages of the error table', () => {
    const byStatus = new Map<string, Set<string>>();
    for (const { status, message } of Object.values(ERRORS)) byStatus.set(String(status), new Set([...(byStatus.get(String(status)) ?? []), message]));
    for (const { where, op } of operations()) {
      const statuses = Object.keys(op.responses);
      expect(statuses, `${where}: 500`).toContain('500');
      expect(statuses, `${where}: 400, its URL can hold what is not text`).toContain('400');
      expect(statuses, `${where}: 408, the request has a deadline, headers included`).toContain('408');
      if (where.includes('{')) expect(statuses, `${where}: 404, its id can name nothing`).toContain('404');
      if (op.requestBody) expect(statuses, `${where} takes a body: 413`).toContain('413');
      const schemes = ((op.security ?? []) as Json[]).flatMap((requirement) => Object.keys(requirement));
      if (schemes.includes('bearer')) expect(statuses, `${where}: a token can be bad or expired`).toEqual(expect.arrayContaining(['401', '403']));
      if (schemes.includes('basic')) expect(statuses, `${where}: bad client credentials, repeated`).toEqual(expect.arrayContaining(['401', '429']));
      for (const [status, response] of Object.entries(op.responses as Json)) {
        const examples = response.content?.['application/json']?.examples;
        if (Number(status) < 400 || !examples) continue;
        for (const example of Object.values(examples as Json)) {
          expect(byStatus.get(status)?.has(example.value.message), `${where} ${status} "${example.value.message}" is in the error table`).toBe(true);
        }
      }
    }
    for (const where of ['POST /api/v1/auth/login', 'POST /api/v1/auth/logout', 'DELETE /api/v1/auth/sessions/{id}', 'POST /api/v1/auth/password/forgot']) {
      const [method, path] = where.split(' ') as [string, string];
      expect(Object.keys(doc.paths[path][method.toLowerCase()].responses), `${where} is rate limited`).toContain('429');
    }
    for (const path of ['/health', '/health/ready']) expect(Object.keys(doc.paths[path].get.responses), path).toContain('503');
  });

  it('declares on each operation the credentials it really asks for: asked without any, it answers 401 exactly when it declares a scheme', async () => {
    const schemes = doc.components.securitySchemes as Json;
    expect(schemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.basic).toStrictEqual(expect.objectContaining({ type: 'http', scheme: 'basic' }));
    // Its credential is the refresh token in the body (or cookie), not an Authorization scheme.
    const bodyCredential = new Set(['refresh']);
    for (const { where, op } of operations()) {
      const [method, path] = where.split(' ') as [string, string];
      let req = t.http()[method.toLowerCase() as 'get'](path.replace(/\{\w+\}/g, '6f1c2b4e-2a47-4d0e-9a53-6f0f3c1d2e8b'));
      if (op.requestBody) req = req.set('Content-Type', 'application/json').send('{}');
      const res = await req;
      const declared: string[] = ((op.security ?? doc.security ?? []) as Json[]).flatMap((requirement) => Object.keys(requirement));
      expect(declared.length, `${where} declares at most one scheme`).toBeLessThanOrEqual(1);
      if (bodyCredential.has(op.operationId)) {
        expect([where, declared]).toStrictEqual([where, []]);
        continue;
      }
      if (declared.length === 0) {
        expect(res.status, `${where} declares no credentials but answers 401 without them`).not.toBe(401);
        continue;
      }
      expect(res.status, `${where} declares ${declared[0]} but answers without credentials`).toBe(401);
      const challenge = String(res.headers['www-authenticate'] ?? '').split(' ')[0]!.toLowerCase();
      expect(challenge, `${where}: the 401 asks for the scheme declared`).toBe(schemes[declared[0]!].scheme);
    }
  });

  it("documents an application's own route as its guard treats it, though its decorators say nothing of it", async () => {
    @Controller('undocumented')
    class UndocumentedController {
      @Get()
      undocumented() {
        return {};
      }
    }
    @Module({ controllers: [UndocumentedController] })
    class UndocumentedModule {}
    const own = await startApp({}, { modules: [UndocumentedModule] });
    try {
      const op = (await own.http().get('/api/docs-json').expect(200)).body.paths['/api/v1/undocumented'].get;
      expect(op.security).toStrictEqual([{ bearer: [] }]);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '401', '403', '500']));
      expect((await own.http().get('/api/v1/undocumented')).status).toBe(401);
    } finally {
      await own.close();
    }
  });

  it('refuses to start when two handlers would share an operation id', async () => {
    @Controller('twice')
    class TwiceController {
      @Get()
      me() {
        return {};
      }
    }
    @Module({ controllers: [TwiceController] })
    class TwiceModule {}
    await expect(startApp({}, { modules: [TwiceModule] })).rejects.toThrow(/operation id "me".*rename one of their handlers/);
  });
});
