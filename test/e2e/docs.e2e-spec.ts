import { readFileSync } from 'node:fs';
import { Controller, Get, Module } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    expect(Object.keys(ok('/api/v1/auth/me', 'get', 200)!.data).sort()).toEqual(['email', 'id', 'sessionId']);
    // data only with a scope: { revokedSessions }.
    const logout = doc.paths['/api/v1/auth/logout'].post.responses[200].content['application/json'].schema;
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
        else if (schema.properties?.data) expect(schema.properties.data.$ref, `${where} ${status} data`).toMatch(/^#\/components\/schemas\//);
      }
    }
    const tokens = doc.components.schemas.TokensDto;
    expect(tokens.required.sort()).toStrictEqual(['accessToken', 'expiresIn', 'sessionId', 'tokenType']);
    expect(tokens.properties.refreshToken.type).toBe('string');
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
