import { createHash } from 'node:crypto';
import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/admin/admin.server.js';
import { startApp, type TestApp } from '../support/app.js';
import { INVALID_TOKEN_BODY } from '../support/messages.js';
import { enrolTotp } from '../support/totp.js';
import { login, register } from '../support/users.js';

/*
 * Property-based requests to the operator API: methods, paths, ids, tokens and bodies of every
 * kind. Checked on every answer: an envelope with a request id, never a 5xx; without a token of
 * ADMIN_TOKENS, the token 401 and nothing changes; with one, user B (never targeted) keeps its
 * session, A's sessions end only by what the request asked (end them all, end one by id, lock,
 * reset the factors: `mfa_reset` ends every session),
 * and every 2xx writes one admin_action row naming the token by its fingerprint.
 */

const TOKEN = 'fuzz-operator-token-0123456789-abcdefgh';
const FINGERPRINT = createHash('sha256').update(TOKEN).digest('hex').slice(0, 16);
/** Queries that are not text: a NUL (once a 500 on ?email=), other controls, invalid UTF-8, an encoded surrogate. */
const NOT_TEXT = ['?email=%00', '?email=a%00', '?event=%01', '?email=%C3%28', '?email=%ED%A0%80', '?after=%C2%85'];
const RUNS = Math.max(20, Math.round(Number(process.env.FUZZ_RUNS ?? 300) * 0.3));

type Target = 'A' | 'A-session-0' | 'A-session-1' | 'unknown' | 'garbage' | 'B' | 'B-session';
interface Recipe {
  method: string;
  route: string;
  target: Target;
  auth: 'right' | 'wrong' | 'user-jwt' | 'none' | 'lowercase-scheme' | 'no-scheme';
  body: unknown;
  query: string;
}

const ROUTES = [
  'GET /admin/v1/users',
  'GET /admin/v1/users/{id}/sessions',
  'DELETE /admin/v1/users/{id}/sessions',
  'DELETE /admin/v1/sessions/{id}',
  'DELETE /admin/v1/users/{id}/factors',
  'POST /admin/v1/users/{id}/lock',
  'POST /admin/v1/users/{id}/unlock',
  'PUT /admin/v1/users/{id}/roles',
  'GET /admin/v1/audit',
  'GET /admin/v1/users/{id}',
  'GET /admin/v2/users',
  'GET /api/v1/auth/me',
];

const recipeArb: fc.Arbitrary<Recipe> = fc.record({
  method: fc.oneof({ weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') }, { weight: 6, arbitrary: fc.constant('') }),
  route: fc.constantFrom(...ROUTES),
  target: fc.constantFrom<Target>('A', 'A', 'A-session-0', 'A-session-1', 'unknown', 'garbage', 'B', 'B-session'),
  auth: fc.constantFrom<Recipe['auth']>('right', 'right', 'right', 'wrong', 'user-jwt', 'none', 'lowercase-scheme', 'no-scheme'),
  body: fc.oneof(
    { weight: 3, arbitrary: fc.record({ roles: fc.array(fc.constantFrom('editor', 'billing', '', 'a b', 'x'.repeat(70)), { maxLength: 4 }) }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ),
  query: fc.constantFrom('', '', '?state=ended', '?state=bogus', '?limit=0', '?limit=2', '?email=user', '?event=login', '?after=nope', '?userId=nope', '?email[]=a', ...NOT_TEXT),
});

describe('fuzz: the operator API', () => {
  let t: TestApp;
  let adminBase: string;
  let userA: { email: string; password: string; userId: string };
  let a: Array<{ token: string; sessionId: string }>;
  let b: { token: string; sessionId: string; userId: string };
  /** B's TOTP factor and recovery codes: no request here may take them (B is never targeted). */
  let bFactors: string;
  const factorsOf = async (userId: string) =>
    JSON.stringify(
      await t.dataSource.query(
        `SELECT (SELECT array_agg(id ORDER BY id) FROM mfa_factors WHERE user_id = $1) AS factors,
                (SELECT count(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS codes`,
        [userId],
      ),
    );

  const liveOf = async (ids: string[]) =>
    new Set(
      (await t.dataSource.query('SELECT id FROM sessions WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL', [ids])).map((r: { id: string }) => r.id),
    );
  const adminRows = async () => Number((await t.dataSource.query(`SELECT count(*) FROM audit_events WHERE event = 'admin_action'`))[0].count);

  beforeAll(async () => {
    t = await startApp({ ADMIN_PORT: '0', ADMIN_TOKENS: TOKEN });
    adminBase = `http://127.0.0.1:${t.app.get(AdminServer).port}`;
    userA = await register(t);
    a = [await login(t, userA.email, userA.password), await login(t, userA.email, userA.password)];
    const userB = await register(t);
    b = { ...(await login(t, userB.email, userB.password)), userId: userB.userId };
    await enrolTotp(t, b.token);
    bFactors = await factorsOf(b.userId);
  });
  afterAll(() => t.close());

  it(`answers every request as an envelope, ends only what an operator asked (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(recipeArb, async (recipe) => {
        const [defaultMethod, template] = recipe.route.split(' ') as [string, string];
        const method = recipe.method || defaultMethod;
        const id = {
          A: userA.userId,
          'A-session-0': a[0]!.sessionId,
          'A-session-1': a[1]!.sessionId,
          unknown: '3f0c9a52-6a51-4a3e-9f7c-2f1f5b8f9a10',
          garbage: '..%2f%00x',
          B: b.userId,
          'B-session': b.sessionId,
        }[recipe.target];
        // The scheme's letter case does not matter (RFC 7235): a lowercase `bearer` is the token too.
        const authorized = recipe.auth === 'right' || recipe.auth === 'lowercase-scheme';
        // An operator never targets B here: B's session must outlive the fuzz.
        fc.pre(!(authorized && recipe.target.startsWith('B')));
        const authorization = {
          right: `Bearer ${TOKEN}`,
          wrong: `Bearer ${TOKEN.slice(0, -1)}X`,
          'user-jwt': `Bearer ${a[0]!.token}`,
          none: undefined,
          'lowercase-scheme': `bearer ${TOKEN}`,
          'no-scheme': TOKEN,
        }[recipe.auth];
        const path = template.replace('{id}', id) + recipe.query;
        const before = await adminRows();
        let req = request(adminBase)[method.toLowerCase() as 'get'](path);
        if (authorization) req = req.set('Authorization', authorization);
        if (recipe.body !== undefined && method !== 'GET' && method !== 'HEAD') req = req.set('Content-Type', 'application/json').send(JSON.stringify(recipe.body));
        const res = await req;

        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        expect(res.headers['x-request-id']).toBeTruthy();
        if (method !== 'HEAD' && !(method === 'OPTIONS' && res.status === 204)) expect(typeof res.body.success, `${method} ${path}: ${res.text}`).toBe('boolean');
        const ok = res.status >= 200 && res.status < 300;
        // A query that is not text: the 400 every route answers before any guard runs.
        if (NOT_TEXT.includes(recipe.query)) {
          expect([400, 404], `${method} ${path}: ${res.text}`).toContain(res.status);
          if (res.status === 400 && method !== 'HEAD') expect(res.body.errors).toEqual(['La consulta contiene texto que no es válido']);
        }
        // Without a token of ADMIN_TOKENS: the token 401; or, for a body that is no JSON object,
        // the 400 the body parser answers before any guard runs; or the router's 404.
        if (!authorized && template.startsWith('/admin/v1') && res.status !== 404 && !NOT_TEXT.includes(recipe.query)) {
          const sentBody = recipe.body !== undefined && method !== 'GET' && method !== 'HEAD';
          const notAnObject = sentBody && (recipe.body === null || typeof recipe.body !== 'object' || Array.isArray(recipe.body));
          if (!(notAnObject && res.status === 400)) {
            expect(res.status, `${method} ${path} without a token of ADMIN_TOKENS`).toBe(401);
            if (method !== 'HEAD') expect(res.text).toBe(INVALID_TOKEN_BODY);
          }
        }

        // What ended, and whether it was asked for.
        const live = await liveOf([...a.map((s) => s.sessionId), b.sessionId]);
        expect(live.has(b.sessionId), "B's session ended").toBe(true);
        expect(await factorsOf(b.userId), "B's factors or recovery codes changed").toBe(bFactors);
        const asked = new Set<string>();
        if (ok && authorized) {
          const route = `${method} ${template}`;
          const endsAll = ['DELETE /admin/v1/users/{id}/sessions', 'POST /admin/v1/users/{id}/lock', 'DELETE /admin/v1/users/{id}/factors'];
          if (recipe.target === 'A' && endsAll.includes(route)) {
            for (const s of a) asked.add(s.sessionId);
          }
          if (route === 'DELETE /admin/v1/sessions/{id}' && recipe.target.startsWith('A-session')) asked.add(id);
        }
        for (const [index, s] of a.entries()) {
          if (!live.has(s.sessionId)) {
            expect(asked.has(s.sessionId), `A's session ${index} ended by ${method} ${path} (${res.status})`).toBe(true);
          } else {
            expect(asked.has(s.sessionId), `A's session ${index} still live after ${method} ${path}`).toBe(false);
          }
        }
        const written = (await adminRows()) - before;
        const acts = ok && authorized && method !== 'GET' && method !== 'HEAD';
        expect(written, `admin_action rows for ${method} ${path} (${res.status})`).toBe(acts ? 1 : 0);
        if (acts) {
          const [row] = await t.dataSource.query(`SELECT details FROM audit_events WHERE event = 'admin_action' ORDER BY created_at DESC LIMIT 1`);
          expect(row.details.admin).toBe(FINGERPRINT);
          expect(JSON.stringify(row)).not.toContain(TOKEN);
        }

        // Back to a known state: A unlocked, two live sessions.
        if (ok && authorized && recipe.target === 'A' && template.endsWith('/lock')) {
          await request(adminBase).post(`/admin/v1/users/${userA.userId}/unlock`).set('Authorization', `Bearer ${TOKEN}`).expect(200);
        }
        for (const index of [0, 1]) {
          if (!live.has(a[index]!.sessionId)) a[index] = await login(t, userA.email, userA.password);
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
