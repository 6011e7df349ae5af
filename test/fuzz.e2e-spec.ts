import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  bearer,
  claimsFor,
  INVALID_TOKEN_BODY,
  login,
  type LoggedIn,
  meRequest,
  MESSAGES,
  registerAndLogin,
  signToken,
  startApp,
  type TestApp,
} from './support/test-app.js';
import { revokedAt } from './support/rows.js';
import { expiredClaimsFor, handSigned, HS256, nowSeconds, OTHER_SECRET, unsignedToken, withoutExp } from './support/tokens.js';

/*
 * Property-based fuzzing of every route (issue 5's net). Random requests (methods, mutated paths,
 * Authorization variants, content types, request ids, bodies of every shape, tokens derived from
 * real ones) go to an in-process server over real HTTP (node:http, so that bytes go out exactly as
 * generated), and every answer is checked:
 *
 *   1. it is a contract envelope (HEAD: no body; Swagger UI and its assets, and the OpenAPI
 *      document, are exempt), and carries an X-Request-Id (the client's own when sane), nosniff,
 *      no X-Powered-By, no-store on auth routes, WWW-Authenticate on token errors, and one
 *      byte-identical 401 body;
 *   2. it is never a 5xx: everything sent is client input;
 *   3. a 2xx from anything but register, login, health or the docs needs a genuine live credential
 *      in the Authorization header; GET /me answers for exactly that session;
 *   4. no session ends except by its own user's logout: user B's session is never presented as a
 *      bearer (its token only as a body token under A's bearer, which must revoke nothing), and
 *      A's sessions may end only by a 2xx logout whose bearer is a live token of A and whose target
 *      (the body token, or else the bearer) is that session. A 2xx logout does end its target.
 *
 * Controls keep the fuzz honest: a live token, well formed, on the exact route with no body, must
 * get its 200 (a server refusing everything would otherwise pass 3 and 4).
 *
 * FUZZ_RUNS (default 300) is the number of generated requests, shared by the properties below.
 * The seed is random; a failure prints the shrunk request and answer, and a command to replay it
 * (FUZZ_SEED=<seed> FUZZ_PATH=<path> … -t '<property name>').
 */

const TOTAL_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
if (!Number.isInteger(TOTAL_RUNS) || TOTAL_RUNS < 1) throw new Error(`FUZZ_RUNS must be a positive integer, not ${process.env.FUZZ_RUNS}`);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const REPLAY_PATH = process.env.FUZZ_PATH;

const MAX_TOKEN_LENGTH = 4096;
const HEALTHY = 'Servicio disponible';
const ME = 'Usuario autenticado';
/** 2xx answers that need no credential. */
const PUBLIC_SUCCESSES = new Set<string>([MESSAGES.registered, MESSAGES.loggedIn, HEALTHY]);
const ENVELOPE_KEYS = new Set(['success', 'message', 'data', 'errors']);

const ROUTES = {
  register: `${API}/register`,
  login: `${API}/login`,
  logout: `${API}/logout`,
  me: `${API}/me`,
  health: '/health',
  docs: '/api/docs',
  docsJson: '/api/docs-json',
} as const;
const OTHER_PATHS = [
  '/',
  '/api',
  API,
  `${API}/`,
  `${API}/sessions`,
  `${ROUTES.me}/extra`,
  '/api/v2/auth/me',
  '/api/docs/swagger-ui.css',
  '/api/docs-yaml',
  '/favicon.ico',
];

// ---------------------------------------------------------------------------------------------
// Recipes: what the generators produce. Plain data, so that counterexamples print and shrink
// well; tokens and users are filled in when a recipe is sent, from the state of that moment.
// ---------------------------------------------------------------------------------------------

/** A's two tracked live sessions, and B's. */
type Holder = 'A0' | 'A1' | 'B';
type Forgery =
  | 'wrong-secret'
  | 'alg-none'
  | 'alg-None-hs256-signature'
  | 'hs512'
  | 'expired'
  | 'no-exp'
  | 'exp-as-string'
  | 'nbf-future'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'sub-and-sid-of-different-users';
type TokenMutation =
  | { flip: 0 | 1 | 2; at: number; to: number }
  | { truncate: number }
  | { append: string }
  | { dropPart: 0 | 1 | 2 };
type TokenRecipe =
  /** The current access token of one of A's live sessions. */
  | { live: 0 | 1 }
  /** Claims of A's live session re-signed by the server's secret: genuine, unless over 4096 characters. */
  | { resigned: 0 | 1; pad: number }
  /** A token of A whose session was logged out. */
  | { dead: number }
  | { mutate: Holder; how: TokenMutation }
  | { forged: Forgery; of: Holder }
  /** Header and signature of A0's token around A1's payload. */
  | { swapPayloads: true }
  | { garbage: string }
  | { long: number };
type AuthRecipe =
  | { none: true }
  | { lead: string; scheme: string; sep: string; token: TokenRecipe; trailer: string }
  | { raw: string };
type PathMutation =
  | { trailingSlash: true }
  | { upper: true }
  | { flipCase: number }
  | { doubleSlash: number }
  | { encode: number }
  | { badPercent: string; at: number }
  | { dotSegment: '.' | '..' }
  | { long: number };
interface PathRecipe {
  base: string;
  mutations: PathMutation[];
  /** `{A0}` stands for A0's live token. */
  query: string | null;
}
type RequestIdRecipe = { none: true } | { sane: string } | { insane: string } | { huge: number };
type Key = string | { rawKey: string };
type ValueRecipe =
  | { json: fc.JsonValue }
  | { literal: string }
  | { str: string }
  | { email: 'A' | 'A-upper' | 'B' }
  | { password: 'A' | 'B' }
  | { token: TokenRecipe | 'B' }
  | { nested: number };
type BodyRecipe =
  | { none: true }
  | { empty: true }
  | { register: { email: string; password: string } }
  | { login: { upper: boolean; rightPassword: boolean } }
  /** `B`: B's genuine token, only ever sent as a body token. */
  | { logout: { token: TokenRecipe | 'B' | null } }
  | { fields: Array<[Key, ValueRecipe]> }
  | { text: string }
  | { deep: 'array' | 'object' | 'mixed' | 'unclosed'; depth: number; field: string | null }
  | { huge: number };
interface RequestRecipe {
  method: string;
  path: PathRecipe;
  auth: AuthRecipe;
  contentType: string | null;
  requestId: RequestIdRecipe;
  body: BodyRecipe;
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const holderArb = fc.constantFrom<Holder>('A0', 'A1', 'B');

const tokenMutationArb: fc.Arbitrary<TokenMutation> = fc.oneof(
  fc.record({ flip: fc.constantFrom<0 | 1 | 2>(2, 1, 0), at: fc.nat(), to: fc.nat() }),
  fc.record({ truncate: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ append: fc.constantFrom('A', '.', '=', '==', '.x', '..', '~', '+', '/') }),
  fc.record({ dropPart: fc.constantFrom<0 | 1 | 2>(2, 1, 0) }),
);

const forgeryArb = fc.constantFrom<Forgery>(
  'wrong-secret',
  'alg-none',
  'alg-None-hs256-signature',
  'hs512',
  'expired',
  'no-exp',
  'exp-as-string',
  'nbf-future',
  'wrong-issuer',
  'wrong-audience',
  'sub-and-sid-of-different-users',
);

const garbageTokenArb = fc.oneof(
  fc.constantFrom('null', 'undefined', '[object Object]', 'a.b.c', '..', '...', 'eyJ', 'Bearer', '0', '-', '='),
  fc.string({ unit: fc.constantFrom(...'ABCabc012-_.~+/='), minLength: 1, maxLength: 60 }),
);

/** `liveWeight` tunes how often a genuine live token comes out. */
const tokenArb = (liveWeight: number): fc.Arbitrary<TokenRecipe> =>
  fc.oneof(
    { weight: liveWeight, arbitrary: fc.record({ live: fc.constantFrom<0 | 1>(0, 1) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        resigned: fc.constantFrom<0 | 1>(0, 1),
        pad: fc.oneof(fc.constant(0), fc.integer({ min: 2800, max: 3300 })),
      }),
    },
    { weight: 2, arbitrary: fc.record({ dead: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ mutate: holderArb, how: tokenMutationArb }) },
    { weight: 3, arbitrary: fc.record({ forged: forgeryArb, of: holderArb }) },
    { weight: 1, arbitrary: fc.constant({ swapPayloads: true as const }) },
    { weight: 1, arbitrary: fc.record({ garbage: garbageTokenArb }) },
    { weight: 1, arbitrary: fc.record({ long: fc.integer({ min: 4000, max: 12_000 }) }) },
  );

/** A body token may also be B's own: under A's bearer, it must revoke nothing. */
const bodyTokenArb = (liveWeight: number): fc.Arbitrary<TokenRecipe | 'B'> =>
  fc.oneof({ weight: 5, arbitrary: tokenArb(liveWeight) }, { weight: 1, arbitrary: fc.constant('B' as const) });

const authArb = (liveWeight: number): fc.Arbitrary<AuthRecipe> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant({ none: true as const }) },
    // Well formed: `Bearer <token>`.
    {
      weight: 5,
      arbitrary: tokenArb(liveWeight).map((token) => ({ lead: '', scheme: 'Bearer', sep: ' ', token, trailer: '' })),
    },
    // Odd schemes, separators and trailers around any token.
    {
      weight: 3,
      arbitrary: fc.record({
        lead: fc.constantFrom('', ' ', '\t'),
        scheme: fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR', 'Basic', 'Token', 'JWT', 'Bearer:', 'Bearer,', ''),
        sep: fc.constantFrom(' ', '  ', '     ', '\t', '', '\u00a0'),
        token: tokenArb(liveWeight),
        trailer: fc.constantFrom('', ' ', '\t', ' junk', ',', '.', '=', 'x', ' Bearer x', ', Basic Zm9vOmJhcg==', '\u00e9', '%00'),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        raw: fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'null', 'Bearer null', 'Bearer undefined', '\u00ff\u00fe'),
      }),
    },
  );

const pathMutationArb: fc.Arbitrary<PathMutation> = fc.oneof(
  fc.constant({ trailingSlash: true as const }),
  fc.constant({ upper: true as const }),
  fc.record({ flipCase: fc.nat() }),
  fc.record({ doubleSlash: fc.nat() }),
  fc.record({ encode: fc.nat() }),
  fc.record({
    badPercent: fc.constantFrom('%zz', '%', '%2', '%E0%A4%A', '%00', '%C0%AF', '%2e%2e', '%2F', '%ff', '%u0041'),
    at: fc.nat(),
  }),
  fc.record({ dotSegment: fc.constantFrom<'.' | '..'>('..', '.') }),
  fc.record({ long: fc.integer({ min: 100, max: 20_000 }) }),
);

const queryArb = fc.constantFrom(
  '?a=1',
  '?token={A0}',
  '?access_token={A0}',
  '?%zz',
  '?a=%E0%A4%A',
  '?__proto__[admin]=1',
  '?constructor[prototype][admin]=1',
  '?a=1&a=2&a[]=3',
  '?=',
  '?&&&',
  '#fragment',
  `?q=${'x'.repeat(5000)}`,
);

const pathArb = (bases: readonly string[], mutationOdds: number): fc.Arbitrary<PathRecipe> =>
  fc.record({
    base: fc.constantFrom(...bases),
    mutations: fc.oneof(
      { weight: mutationOdds, arbitrary: fc.constant<PathMutation[]>([]) },
      { weight: 1, arbitrary: fc.array(pathMutationArb, { minLength: 1, maxLength: 3 }) },
    ),
    query: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: queryArb }),
  });

const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND', 'TRACE', 'FOO');

const contentTypeArb = (jsonWeight: number) =>
  fc.oneof(
    { weight: jsonWeight, arbitrary: fc.constant('application/json') },
    {
      weight: 2,
      arbitrary: fc.constantFrom<string | null>(
        null,
        'application/json; charset=utf-8',
        'Application/JSON',
        'application/json; charset=iso-8859-1',
        'application/json-patch+json',
        'application/jsonx',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'garbage',
        ';;;',
        '',
      ),
    },
  );

const requestIdArb: fc.Arbitrary<RequestIdRecipe> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ none: true as const }) },
  { weight: 4, arbitrary: fc.record({ sane: fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      insane: fc.constantFrom('has space', '<script>alert(1)</script>', 'a"b', 'a,b', '\u00fcber', 'x'.repeat(129), '', '${jndi:ldap://x}', 'a\tb'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ huge: fc.integer({ min: 1000, max: 20_000 }) }) },
);

/** Strings with what trips up parsers and validators: brackets, quotes, lone surrogates, NUL, İ. */
const trickyStringArb = fc.oneof(
  fc.string({
    unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a', ' ', '\ud800', '\udc00', '\ud83d\ude00', 'é', '\u0000', '\u2028', 'İ', 'ß', '@'),
    maxLength: 30,
  }),
  fc.uuid().map((id) => `fuzz-${id}@example.com`),
  fc.constantFrom(
    'a@b.co',
    `${'İ'.repeat(120)}@example.com`,
    `${'x'.repeat(300)}@example.com`,
    'ﬀ@example.com',
    'a\u0301@example.com',
    '"quoted"@example.com',
    'a@[127.0.0.1]',
    'a@localhost',
    'x'.repeat(128),
    'x'.repeat(129),
    '\u0000'.repeat(8),
    '😀'.repeat(64),
    '😀'.repeat(65),
  ),
);

const literalArb = fc.constantFrom(
  '1e400',
  '-1e400',
  '-0',
  '-0.0',
  '1e-400',
  '0.1',
  '9007199254740993',
  '123456789012345678901234567890',
  '1E2',
  'true',
  'false',
  'null',
  '""',
  '[]',
  '{}',
  '"\\u0000"',
  '"\\ud800"',
  '"x\\udfff"',
  '"\\ud83d\\ude00"',
  '"\\ud83d"',
  '"\\\\ud800"',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
);

const valueArb = (liveWeight: number): fc.Arbitrary<ValueRecipe> =>
  fc.oneof(
    fc.record({ json: fc.jsonValue({ maxDepth: 2 }) }),
    fc.record({ literal: literalArb }),
    fc.record({ str: trickyStringArb }),
    fc.record({ email: fc.constantFrom<'A' | 'A-upper' | 'B'>('A', 'A-upper', 'B') }),
    fc.record({ password: fc.constantFrom<'A' | 'B'>('A', 'B') }),
    fc.record({ token: bodyTokenArb(liveWeight) }),
    fc.record({ nested: fc.integer({ min: 1, max: 400 }) }),
  );

const keyArb = (fields: readonly string[]): fc.Arbitrary<Key> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...fields) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'scope', 'toString', 'hasOwnProperty', 'role', ''),
    },
    // Keys spelled with escapes: `token`, and a lone surrogate.
    { weight: 1, arbitrary: fc.record({ rawKey: fc.constantFrom('"\\u0074oken"', '"em\\u0061il"', '"\\ud800"') }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  );

const rawTextArb = fc.oneof(
  fc.constantFrom(
    'not json',
    '{',
    '}',
    '{"email":',
    '[]',
    '[1,2]',
    '"a string"',
    '42',
    'null',
    'true',
    '{}garbage',
    '{"a":1}{"b":2}',
    "{'a':1}",
    '{"a":1,}',
    '\ufeff{}',
    'email=a%40b.co&password=12345678',
    '--xyz\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.co\r\n--xyz--\r\n',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":undefined}',
    '\u0000',
  ),
  fc.string({ maxLength: 50 }),
  fc.json({ maxDepth: 3 }),
);

/** `{}`, or `{ token }` with any token: the logout body. */
const logoutBodyArb = (liveWeight: number): fc.Arbitrary<BodyRecipe> =>
  fc.record({ logout: fc.record({ token: fc.option(bodyTokenArb(liveWeight), { freq: 3 }) }) });

const bodyArb = (fields: readonly string[], liveWeight: number): fc.Arbitrary<BodyRecipe> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant({ none: true as const }) },
    { weight: 1, arbitrary: fc.constant({ empty: true as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        register: fc.record({
          email: fc.uuid().map((id) => `fuzz-${id}@example.com`),
          password: fc.string({ unit: 'grapheme', minLength: 8, maxLength: 40 }),
        }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ login: fc.record({ upper: fc.boolean(), rightPassword: fc.boolean() }) }) },
    { weight: 2, arbitrary: logoutBodyArb(liveWeight) },
    {
      weight: 6,
      arbitrary: fc.record({ fields: fc.array(fc.tuple(keyArb(fields), valueArb(liveWeight)), { maxLength: 4 }) }),
    },
    { weight: 2, arbitrary: fc.record({ text: rawTextArb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        deep: fc.constantFrom<'array' | 'object' | 'mixed' | 'unclosed'>('array', 'object', 'mixed', 'unclosed'),
        depth: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 700 })),
        field: fc.option(fc.constantFrom(...fields, 'other')),
      }),
    },
    { weight: 1, arbitrary: fc.record({ huge: fc.integer({ min: 16 * 1024 - 64, max: 64 * 1024 }) }) },
  );

const ALL_BASES = [...Object.values(ROUTES), ...OTHER_PATHS];
const ALL_FIELDS = ['email', 'password', 'token'];

/** Anything, anywhere. */
const anyRequestArb: fc.Arbitrary<RequestRecipe> = fc.record({
  method: methodArb,
  path: pathArb(ALL_BASES, 2),
  auth: authArb(4),
  contentType: contentTypeArb(3),
  requestId: requestIdArb,
  body: bodyArb(ALL_FIELDS, 3),
});

/** GET /me and POST /logout, mostly well aimed, with real tokens and everything derived from them. */
const protectedRequestArb: fc.Arbitrary<RequestRecipe> = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom<[string, string]>(['GET', ROUTES.me], ['POST', ROUTES.logout]) },
      { weight: 1, arbitrary: fc.tuple(methodArb, fc.constantFrom(ROUTES.me, ROUTES.logout)) },
    ),
    fc.oneof({ weight: 5, arbitrary: fc.constant<PathMutation[]>([]) }, { weight: 1, arbitrary: fc.array(pathMutationArb, { maxLength: 2 }) }),
    fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: queryArb }),
    authArb(8),
    contentTypeArb(6),
    requestIdArb,
    fc.oneof(
      { weight: 2, arbitrary: fc.constant<BodyRecipe>({ none: true }) },
      { weight: 2, arbitrary: logoutBodyArb(6) },
      { weight: 3, arbitrary: bodyArb(['token'], 6) },
    ),
  )
  .map(([[method, base], mutations, query, auth, contentType, requestId, body]) => ({
    method,
    path: { base, mutations, query },
    auth,
    contentType,
    requestId,
    body,
  }));

/** POST /logout under a live bearer of A, with body tokens of every kind: B's, A's other session's, derived ones. */
const liveLogoutRequestArb: fc.Arbitrary<RequestRecipe> = fc.record({
  method: fc.constant('POST'),
  path: fc.record({ base: fc.constant(ROUTES.logout), mutations: fc.constant<PathMutation[]>([]), query: fc.constant(null) }),
  auth: fc.record({
    lead: fc.constant(''),
    scheme: fc.constantFrom('Bearer', 'bearer'),
    sep: fc.constant(' '),
    token: fc.oneof(
      { weight: 4, arbitrary: fc.record({ live: fc.constantFrom<0 | 1>(0, 1) }) },
      { weight: 1, arbitrary: fc.record({ resigned: fc.constantFrom<0 | 1>(0, 1), pad: fc.constant(0) }) },
    ),
    trailer: fc.constant(''),
  }),
  contentType: contentTypeArb(10),
  requestId: fc.constant({ none: true as const }),
  body: fc.oneof(
    { weight: 1, arbitrary: fc.constant<BodyRecipe>({ none: true }) },
    { weight: 2, arbitrary: fc.constant<BodyRecipe>({ logout: { token: 'B' } }) },
    { weight: 4, arbitrary: logoutBodyArb(3) },
    { weight: 2, arbitrary: bodyArb(['token'], 3) },
  ),
});

/** POST register and login, with bodies of every kind. */
const credentialsRequestArb: fc.Arbitrary<RequestRecipe> = fc.record({
  method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: methodArb }),
  path: pathArb([ROUTES.register, ROUTES.login], 8),
  auth: fc.oneof({ weight: 4, arbitrary: fc.constant({ none: true as const }) }, { weight: 1, arbitrary: authArb(3) }),
  contentType: contentTypeArb(8),
  requestId: requestIdArb,
  body: bodyArb(['email', 'password'], 2),
});

// ---------------------------------------------------------------------------------------------
// Tokens and state
// ---------------------------------------------------------------------------------------------

const TOKEN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

interface Session {
  token: string;
  sessionId: string;
}
interface TokenInfo {
  /** Genuine (right secret, claims, not expired, at most 4096 characters) and its session live. */
  live: boolean;
  sessionId?: string;
}

class FuzzState {
  /** A's two tracked live sessions; replaced by a fresh login when the fuzz logs one out. */
  a: [Session, Session];
  /** Tokens of A whose sessions were logged out. */
  dead: string[] = [];

  constructor(
    private readonly t: TestApp,
    readonly userA: LoggedIn,
    a1: Session,
    /** Never a bearer: its session must outlive the fuzz. */
    public userB: LoggedIn,
  ) {
    this.a = [{ token: userA.token, sessionId: userA.sessionId }, a1];
  }

  holder(h: Holder): { userId: string; sessionId: string; token: string } {
    if (h === 'B') return this.userB;
    const session = this.a[h === 'A0' ? 0 : 1];
    return { userId: this.userA.userId, ...session };
  }

  /** After a failure: B logs in again, so that the next requests (and shrinking) are judged afresh. */
  async replaceB(): Promise<void> {
    this.userB = { ...this.userB, ...(await login(this.t, this.userB.email, this.userB.password)) };
  }

  /** Replaces A's session `index`, which has just ended. */
  async replace(index: 0 | 1): Promise<void> {
    this.dead.push(this.a[index].token);
    if (this.dead.length > 20) this.dead.shift();
    this.a[index] = await login(this.t, this.userA.email, this.userA.password);
  }
}

function mutateToken(token: string, how: TokenMutation): string {
  if ('flip' in how) {
    const parts = token.split('.');
    const part = parts[how.flip];
    // Not the signature's last character: its low bits are padding, and some decoders ignore them.
    const span = how.flip === 2 ? part.length - 1 : part.length;
    const at = how.at % span;
    const next = TOKEN_CHARS[(TOKEN_CHARS.indexOf(part[at]) + 1 + (how.to % (TOKEN_CHARS.length - 1))) % TOKEN_CHARS.length];
    parts[how.flip] = part.slice(0, at) + next + part.slice(at + 1);
    return parts.join('.');
  }
  if ('truncate' in how) return token.slice(0, -Math.min(how.truncate, token.length - 1));
  if ('append' in how) return token + how.append;
  return token
    .split('.')
    .filter((_, i) => i !== how.dropPart)
    .join('.');
}

function forge(forgery: Forgery, user: { userId: string; sessionId: string }, other: { userId: string; sessionId: string }): string {
  const claims = claimsFor(user);
  switch (forgery) {
    case 'wrong-secret':
      return signToken(claims, { secret: OTHER_SECRET });
    case 'alg-none':
      return unsignedToken(claims);
    case 'alg-None-hs256-signature':
      return handSigned({ alg: 'None', typ: 'JWT' }, claims);
    case 'hs512':
      return signToken(claims, { algorithm: 'HS512' });
    case 'expired':
      return signToken(expiredClaimsFor(user));
    case 'no-exp':
      return handSigned(HS256, withoutExp(claims));
    case 'exp-as-string':
      return handSigned(HS256, { ...claims, exp: String(claims.exp) });
    case 'nbf-future':
      return signToken(claimsFor(user, { nbf: nowSeconds() + 3600 }));
    case 'wrong-issuer':
      return signToken(claimsFor(user, { iss: 'someone-else' }));
    case 'wrong-audience':
      return signToken(claimsFor(user, { aud: 'other-clients' }));
    case 'sub-and-sid-of-different-users':
      return signToken(claimsFor({ userId: user.userId, sessionId: other.sessionId }));
  }
}

// ---------------------------------------------------------------------------------------------
// From recipe to request
// ---------------------------------------------------------------------------------------------

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Whether the Authorization header, as the server receives it, is `Bearer <live token>`. */
  bearer: TokenInfo & { genuine: boolean; wellFormed: boolean };
  /** The token in a parsed JSON body, if the body is JSON with a string `token`. */
  bodyToken?: TokenInfo;
  bodyHasToken: boolean;
  bodyHasScope: boolean;
  sentRequestId?: string;
}

class Materializer {
  /** Every token made for this request, and what the test knows of it. */
  readonly tokens = new Map<string, TokenInfo>();

  constructor(private readonly state: FuzzState) {}

  token(recipe: TokenRecipe | 'B'): string {
    if (recipe === 'B') {
      // Live, but not a token of the bearer's user (B is never a bearer).
      this.tokens.set(this.state.userB.token, { live: false });
      return this.state.userB.token;
    }
    const { token, info } = this.make(recipe);
    // A mutation that changed nothing would be the live token under another name.
    if (!info.live && this.isLiveToken(token)) throw new Error(`test bug: ${JSON.stringify(recipe)} gave a live token`);
    if (!this.tokens.has(token) || info.live) this.tokens.set(token, info);
    return token;
  }

  private isLiveToken(token: string) {
    return this.state.a.some((s) => s.token === token);
  }

  private make(recipe: TokenRecipe): { token: string; info: TokenInfo } {
    const s = this.state;
    if ('live' in recipe) {
      const session = s.a[recipe.live];
      return { token: session.token, info: { live: true, sessionId: session.sessionId } };
    }
    if ('resigned' in recipe) {
      const session = s.a[recipe.resigned];
      const extra = recipe.pad ? { pad: 'x'.repeat(recipe.pad) } : {};
      const token = signToken(claimsFor({ userId: s.userA.userId, sessionId: session.sessionId }, extra));
      return { token, info: { live: token.length <= MAX_TOKEN_LENGTH, sessionId: session.sessionId } };
    }
    if ('dead' in recipe) {
      return { token: s.dead[recipe.dead % s.dead.length], info: { live: false } };
    }
    if ('mutate' in recipe) return { token: mutateToken(s.holder(recipe.mutate).token, recipe.how), info: { live: false } };
    if ('forged' in recipe) {
      const other = recipe.of === 'B' ? s.holder('A0') : s.userB;
      return { token: forge(recipe.forged, s.holder(recipe.of), other), info: { live: false } };
    }
    if ('swapPayloads' in recipe) {
      const [header, , signature] = s.a[0].token.split('.');
      return { token: `${header}.${s.a[1].token.split('.')[1]}.${signature}`, info: { live: false } };
    }
    if ('garbage' in recipe) return { token: recipe.garbage, info: { live: false } };
    return { token: 'a'.repeat(recipe.long), info: { live: false } };
  }

  authorization(recipe: AuthRecipe): { header?: string; info: Request['bearer'] } {
    const refused = { live: false, genuine: false, wellFormed: false };
    if ('none' in recipe) return { info: refused };
    if ('raw' in recipe) return { header: recipe.raw, info: refused };
    const token = this.token(recipe.token);
    const info = this.tokens.get(token)!;
    // What the server sees: HTTP strips spaces and tabs around a field value. RFC 7235: the
    // scheme is case-insensitive, one or more spaces before the token, nothing after it.
    const schemeOk = /^bearer$/i.test(recipe.scheme) && /^ +$/.test(recipe.sep);
    const genuine = info.live && schemeOk && /^[ \t]*$/.test(recipe.trailer);
    const wellFormed = recipe.lead === '' && recipe.scheme === 'Bearer' && recipe.sep === ' ' && recipe.trailer === '';
    return {
      header: `${recipe.lead}${recipe.scheme}${recipe.sep}${token}${recipe.trailer}`,
      info: { ...info, live: genuine, genuine, wellFormed },
    };
  }

  path(recipe: PathRecipe): string {
    let path = recipe.base;
    for (const m of recipe.mutations) path = mutatePath(path, m);
    if (recipe.query) path += recipe.query.replace('{A0}', this.token({ live: 0 }));
    return path;
  }

  value(recipe: ValueRecipe): string {
    const s = this.state;
    if ('json' in recipe) return JSON.stringify(recipe.json);
    if ('literal' in recipe) return recipe.literal;
    if ('str' in recipe) return JSON.stringify(recipe.str); // lone surrogates come out as `\ud800` escapes
    if ('email' in recipe) {
      const email = recipe.email === 'B' ? s.userB.email : s.userA.email;
      return JSON.stringify(recipe.email === 'A-upper' ? email.toUpperCase() : email);
    }
    if ('password' in recipe) return JSON.stringify(recipe.password === 'A' ? s.userA.password : `${s.userB.password}-not`);
    if ('token' in recipe) return JSON.stringify(this.token(recipe.token));
    return `${'['.repeat(recipe.nested)}${']'.repeat(recipe.nested)}`;
  }

  body(recipe: BodyRecipe): string | undefined {
    const s = this.state;
    const object = (entries: Array<[Key, string]>) =>
      `{${entries.map(([k, v]) => `${typeof k === 'string' ? JSON.stringify(k) : k.rawKey}:${v}`).join(',')}}`;
    if ('none' in recipe) return undefined;
    if ('empty' in recipe) return '';
    if ('register' in recipe) return JSON.stringify(recipe.register);
    if ('login' in recipe) {
      const { email, password } = s.userA;
      return JSON.stringify({
        email: recipe.login.upper ? email.toUpperCase() : email,
        password: recipe.login.rightPassword ? password : `${password}!`,
      });
    }
    if ('logout' in recipe) return recipe.logout.token ? JSON.stringify({ token: this.token(recipe.logout.token) }) : '{}';
    if ('fields' in recipe) return object(recipe.fields.map(([k, v]) => [k, this.value(v)]));
    if ('text' in recipe) return recipe.text;
    if ('huge' in recipe) return JSON.stringify({ email: 'a'.repeat(recipe.huge) });
    const { deep, depth, field } = recipe;
    const nested =
      deep === 'array'
        ? `${'['.repeat(depth)}${']'.repeat(depth)}`
        : deep === 'object'
          ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
          : deep === 'mixed'
            ? `${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}`
            : '['.repeat(depth);
    return field === null ? nested : object([[field, nested]]);
  }

  request(recipe: RequestRecipe): Request {
    const headers: Record<string, string> = {};
    const auth = this.authorization(recipe.auth);
    if (auth.header !== undefined) headers.authorization = auth.header;
    if (recipe.contentType !== null) headers['content-type'] = recipe.contentType;
    const rid = recipe.requestId;
    const sentRequestId = 'sane' in rid ? rid.sane : 'insane' in rid ? rid.insane : 'huge' in rid ? 'r'.repeat(rid.huge) : undefined;
    if (sentRequestId !== undefined) headers['x-request-id'] = sentRequestId;
    const text = this.body(recipe.body);

    let parsed: unknown;
    try {
      parsed = text === undefined ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : undefined;
    const bodyHasToken = object !== undefined && Object.hasOwn(object, 'token');
    const bodyToken = bodyHasToken ? (object as { token: unknown }).token : undefined;
    return {
      method: recipe.method,
      path: this.path(recipe.path),
      headers,
      body: text === undefined ? undefined : Buffer.from(text, 'utf8'),
      bearer: auth.info,
      bodyHasToken,
      bodyToken: typeof bodyToken === 'string' ? (this.tokens.get(bodyToken) ?? { live: false }) : undefined,
      bodyHasScope: object !== undefined && Object.hasOwn(object, 'scope'),
      sentRequestId,
    };
  }
}

function mutatePath(path: string, m: PathMutation): string {
  const positions = (test: (c: string) => boolean) => [...path].flatMap((c, i) => (test(c) ? [i] : []));
  const at = (list: number[], n: number) => list[n % list.length];
  if ('trailingSlash' in m) return `${path}/`;
  if ('upper' in m) return path.toUpperCase();
  if ('flipCase' in m) {
    const letters = positions((c) => /[a-z]/i.test(c));
    if (!letters.length) return path;
    const i = at(letters, m.flipCase);
    const c = path[i];
    return path.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + path.slice(i + 1);
  }
  if ('doubleSlash' in m) {
    const i = at(positions((c) => c === '/'), m.doubleSlash);
    return `${path.slice(0, i)}/${path.slice(i)}`;
  }
  if ('encode' in m) {
    const chars = positions((c) => /[a-z0-9-]/i.test(c));
    if (!chars.length) return path;
    const i = at(chars, m.encode);
    return `${path.slice(0, i)}%${path.charCodeAt(i).toString(16).toUpperCase()}${path.slice(i + 1)}`;
  }
  if ('badPercent' in m) {
    const i = m.at % (path.length + 1);
    return path.slice(0, i) + m.badPercent + path.slice(i);
  }
  if ('dotSegment' in m) {
    const i = path.lastIndexOf('/');
    return `${path.slice(0, i)}${m.dotSegment === '..' ? '/x/..' : '/.'}${path.slice(i)}`;
  }
  return `${path}/${'a'.repeat(m.long)}`;
}

// ---------------------------------------------------------------------------------------------
// Sending and checking
// ---------------------------------------------------------------------------------------------

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** What Node's HTTP client refused in the answer, after its status line and headers. */
  protocolError?: string;
}

/** Plain node:http, so that paths, methods, headers and bytes go out exactly as made. */
function send(port: number, req: Request): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(req.body.length);
    let answered: Response | undefined;
    const outgoing = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent: false, timeout: 15_000 },
      (res) => {
        answered = { status: res.statusCode!, headers: res.headers, text: '' };
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ ...answered!, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer within 15 s')));
    outgoing.on('error', (err: Error & { code?: string }) =>
      // An answer followed by bytes the HTTP parser refuses (a body after a HEAD answer, say).
      answered ? resolve({ ...answered, protocolError: `${err.code ?? ''} ${err.message}` }) : reject(err),
    );
    outgoing.end(req.body);
  });
}

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

function describeExchange(req: Request, res: Response | Error): string {
  const head = Object.entries(req.headers).map(([k, v]) => `  ${k}: ${clip(JSON.stringify(v), 200)}`);
  const body = req.body === undefined ? '(no body)' : clip(JSON.stringify(req.body.toString('utf8')), 500);
  const answer =
    res instanceof Error
      ? `no answer: ${res.message}`
      : [
          `${res.status}${res.protocolError ? ` (then: ${res.protocolError})` : ''}`,
          ...['content-type', 'x-request-id', 'www-authenticate'].map((h) => `  ${h}: ${clip(String(res.headers[h]), 200)}`),
          `  ${clip(JSON.stringify(res.text), 500)}`,
        ].join('\n');
  return [`request: ${req.method} ${clip(req.path, 200)}`, ...head, `  body: ${body}`, `response: ${answer}`].join('\n');
}

/**
 * Node's HTTP parser refuses it (unknown method, a request target that is not a path, over 16 KiB
 * of headers): the server answers without ever reading its headers.
 */
function unparseable(req: Request): boolean {
  const head = req.path.length + Object.entries(req.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  return !http.METHODS.includes(req.method) || !req.path.startsWith('/') || head > 16_000;
}

/** The path part of a request target, percent-decoded as the router decodes it. */
function pathnameOf(target: string): string {
  const pathname = target.split(/[?#]/)[0];
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname; // routed nowhere
  }
}

/** Whether the server would route this path under /api/docs: the Swagger UI, its assets, the documents. */
const isDocsPath = (target: string) => pathnameOf(target).startsWith('/api/docs');

function envelopeProblems(res: Response): string[] {
  if (!/^application\/json\b/.test(res.headers['content-type'] ?? '')) return ['content-type is not application/json'];
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return ['body is not JSON'];
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['body is not a JSON object'];
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  const extra = Object.keys(b).filter((k) => !ENVELOPE_KEYS.has(k));
  if (extra.length) problems.push(`keys outside the envelope: ${extra.join(', ')}`);
  if (typeof b.success !== 'boolean') problems.push('success is not a boolean');
  if (typeof b.message !== 'string' || b.message === '') problems.push('message is not a non-empty string');
  if ('data' in b && (typeof b.data !== 'object' || b.data === null || Array.isArray(b.data))) problems.push('data is not an object');
  if ('errors' in b && (!Array.isArray(b.errors) || !b.errors.every((e) => typeof e === 'string'))) {
    problems.push('errors is not an array of strings');
  }
  if (b.success !== (res.status >= 200 && res.status < 300)) problems.push(`success ${String(b.success)} with status ${res.status}`);
  if (b.message === MESSAGES.invalidToken && res.text !== INVALID_TOKEN_BODY) problems.push('a 401 body unlike the one 401 body');
  if (/QueryFailedError|\n\s+at \S|file:\/\/|FST_ERR/.test(res.text)) problems.push('something internal in the body');
  return problems;
}

/** Properties 1 to 3: the answer on its own. Also returns its envelope, if it is one. */
function checkAnswer(
  req: Request,
  res: Response,
  state: FuzzState,
): { problems: string[]; body?: Record<string, unknown> } {
  const problems: string[] = [];
  if (res.protocolError) problems.push(`an answer Node's HTTP client refuses: ${res.protocolError}`);
  const ok = res.status >= 200 && res.status < 300;

  // 2. Client input never gets a 5xx.
  if (res.status >= 500) problems.push(`status ${res.status}`);

  // 1. The envelope, the headers every answer carries, and a request id.
  if (res.headers['x-content-type-options'] !== 'nosniff') problems.push('no X-Content-Type-Options: nosniff');
  if ('x-powered-by' in res.headers) problems.push('an X-Powered-By header');
  const rid = res.headers['x-request-id'];
  if (typeof rid !== 'string' || rid === '') problems.push('no X-Request-Id');
  else if (req.sentRequestId !== undefined && !unparseable(req)) {
    const sent = req.sentRequestId;
    if (/^[A-Za-z0-9-]{1,64}$/.test(sent) && rid !== sent) problems.push('a sane X-Request-Id was not echoed');
    if ((sent.length > 200 || /[^\x21-\x7e]/.test(sent)) && rid === sent) problems.push('an insane X-Request-Id was echoed');
  }
  let body: Record<string, unknown> | undefined;
  if (req.method === 'HEAD') {
    if (res.text !== '') problems.push('a body in answer to HEAD');
  } else if (isDocsPath(req.path) && !/^application\/json\b/.test(res.headers['content-type'] ?? '')) {
    // Swagger UI, its assets and the YAML document: only the status is checked.
  } else if (isDocsPath(req.path) && res.status === 200 && res.text.includes('"openapi"')) {
    const doc = JSON.parse(res.text) as { openapi?: unknown; paths?: unknown };
    if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.') || typeof doc.paths !== 'object') {
      problems.push('not an OpenAPI 3 document');
    }
  } else {
    const envelope = envelopeProblems(res);
    problems.push(...envelope.map((p) => `not an envelope: ${p}`));
    if (!envelope.length) body = JSON.parse(res.text) as Record<string, unknown>;
  }
  const tokenError = body?.message === MESSAGES.invalidToken || body?.message === MESSAGES.expired;
  if (tokenError && res.headers['www-authenticate'] !== 'Bearer error="invalid_token"') {
    problems.push('a token error without WWW-Authenticate: Bearer error="invalid_token"');
  }
  if (pathnameOf(req.path).startsWith(`${API}/`) && res.headers['cache-control'] !== 'no-store') {
    problems.push('an auth answer without Cache-Control: no-store');
  }

  // 3. Only a genuine live credential gets a 2xx from a protected route.
  if (ok) {
    const publicAnswer =
      body !== undefined
        ? PUBLIC_SUCCESSES.has(body.message as string)
        : isDocsPath(req.path) || (req.method === 'HEAD' && pathnameOf(req.path) === ROUTES.health);
    if (!publicAnswer && !req.bearer.genuine) problems.push('a 2xx without a genuine live credential');
    if (body?.message === ME) {
      const data = body.data as Record<string, unknown>;
      if (data.id !== state.userA.userId || data.sessionId !== req.bearer.sessionId) {
        problems.push("GET /me answered for another session than the bearer's");
      }
    }
    if (body?.message === MESSAGES.loggedOut && req.bodyHasToken && !req.bodyToken?.live) {
      problems.push('logout accepted a body token that is not a live token of the bearer');
    }
  }

  // Controls, so that the fuzz cannot pass by refusing everything: a live token, well formed,
  // on the exact route, with no body (and no Content-Type but JSON's), is accepted.
  const exactly = (method: string, path: string) => req.method === method && req.path === path;
  const contentType = req.headers['content-type'];
  const plain =
    req.bearer.genuine &&
    req.bearer.wellFormed &&
    req.body === undefined &&
    (contentType === undefined || /^application\/json\s*(;.*)?$/i.test(contentType)) &&
    (req.sentRequestId?.length ?? 0) < 1000;
  if (plain && (exactly('GET', ROUTES.me) || exactly('POST', ROUTES.logout)) && res.status !== 200) {
    problems.push(`a live token was refused (${res.status})`);
  }
  return { problems, body };
}

// ---------------------------------------------------------------------------------------------
// The fuzz
// ---------------------------------------------------------------------------------------------

describe('fuzz: random requests to every route', () => {
  let t: TestApp;
  let port: number;
  let state: FuzzState;
  /** B as first logged in: `state.userB` is replaced after a failure, this is what must outlive the fuzz. */
  let originalB: LoggedIn;
  const statuses = new Map<number, number>();

  const revokedOf = async (sessionIds: string[]): Promise<Set<string>> => {
    const rows: Array<{ id: string }> = await t.dataSource.query(
      'SELECT id FROM sessions WHERE id IN ($1, $2, $3) AND revoked_at IS NOT NULL',
      sessionIds,
    );
    return new Set(rows.map((r) => r.id));
  };

  beforeAll(async () => {
    // Generous limits: a 429 would hide what the request would otherwise have got.
    t = await startApp({
      THROTTLE_LOGOUT_LIMIT: '1000000',
      THROTTLE_LOGIN_LIMIT: '1000000',
    });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;

    const userA = await registerAndLogin(t);
    const a1 = await login(t, userA.email, userA.password);
    originalB = await registerAndLogin(t);
    state = new FuzzState(t, userA, a1, originalB);
    // Tokens of logged-out sessions: one ended by its own bearer, one as a body token.
    for (const viaBody of [false, true]) {
      const ended = await login(t, userA.email, userA.password);
      const req = t.http().post(`${API}/logout`);
      if (viaBody) await req.set(bearer(userA.token)).send({ token: ended.token }).expect(200);
      else await req.set(bearer(ended.token)).expect(200);
      state.dead.push(ended.token);
    }
    const tracked = [...state.a.map((s) => s.sessionId), state.userB.sessionId];
    expect(await revokedOf(tracked), 'the sessions the fuzz starts from are live').toEqual(new Set());
  });

  afterAll(async () => {
    console.log(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    await t?.close();
  });

  /** Sends one generated request and checks every property; throws with the exchange on failure. */
  async function exchange(recipe: RequestRecipe): Promise<void> {
    const before = { a: [...state.a] as [Session, Session], b: state.userB.sessionId };
    const req = new Materializer(state).request(recipe);
    const res = await send(port, req).catch((err: Error) => err);
    if (!(res instanceof Error)) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const { problems, body } = res instanceof Error ? { problems: ['no answer'], body: undefined } : checkAnswer(req, res, state);

    // 4. No session ends but by its own user's logout; A's ended sessions are replaced.
    const revoked = await revokedOf([before.a[0].sessionId, before.a[1].sessionId, before.b]);
    if (revoked.has(before.b)) {
      problems.push("user B's session ended");
      await state.replaceB();
    }
    const loggedOut = body?.success === true && body.message === MESSAGES.loggedOut;
    const target = req.bodyHasToken ? req.bodyToken?.sessionId : req.bearer.sessionId;
    for (const index of [0, 1] as const) {
      const { sessionId } = before.a[index];
      if (!revoked.has(sessionId)) continue;
      const allowed = loggedOut && req.bearer.genuine && (sessionId === target || req.bodyHasScope);
      if (!allowed) problems.push(`A's session ${index} ended, and not by its own logout`);
      await state.replace(index);
    }
    if (loggedOut && !req.bodyHasScope && (target === undefined || !revoked.has(target))) {
      problems.push('logout answered 2xx, but its session is still live');
    }

    if (problems.length) throw new Error(`${problems.join('; ')}\n${describeExchange(req, res)}\n`);
  }

  const properties: Array<[name: string, share: number, arbitrary: fc.Arbitrary<RequestRecipe>]> = [
    ['any request to any route', 0.3, anyRequestArb],
    ['GET /me and POST /logout with real tokens and everything derived from them', 0.3, protectedRequestArb],
    ['POST /logout under a live bearer of A, with body tokens of every kind', 0.2, liveLogoutRequestArb],
    ['POST register and login with bodies of every kind', 0.2, credentialsRequestArb],
  ];

  for (const [name, share, arbitrary] of properties) {
    const numRuns = Math.max(1, Math.round(TOTAL_RUNS * share));
    it(`${name} (${numRuns} runs)`, async () => {
      const details = await fc.check(fc.asyncProperty(arbitrary, exchange), {
        numRuns,
        seed: SEED,
        path: REPLAY_PATH,
      });
      if (details.failed) {
        throw new Error(
          `${fc.defaultReportMessage(details)}\n${(details.errorInstance as Error | undefined)?.message ?? ''}\n` +
            `Replay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} npx vitest run ` +
            `--project e2e-${process.env.E2E_DATABASE} test/fuzz.e2e-spec.ts -t '${name}'`,
        );
      }
    }, 120_000 + numRuns * 2_000);
  }

  it("leaves user B's session live, and A's tracked sessions usable", async () => {
    const userB = originalB;
    expect(await revokedAt(t, userB.sessionId)).toBeNull();
    const me = await meRequest(t, userB.token).expect(200);
    expect(me.body.data).toEqual({ id: userB.userId, email: userB.email, sessionId: userB.sessionId });
    for (const session of state.a) await meRequest(t, session.token).expect(200);
  });
});
