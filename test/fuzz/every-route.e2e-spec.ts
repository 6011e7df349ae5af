import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API,
  BAD_CREDENTIALS_BODY,
  bearer,
  claimsFor,
  envelope,
  INVALID_TOKEN_BODY,
  type LoggedIn,
  loginWithRefresh,
  meRequest,
  MESSAGES,
  refreshRequest,
  registerAndLoginWithRefresh,
  signToken,
  startApp,
  type TestApp,
  type WithRefresh,
} from '../support/test-app.js';
import { revokedAt, setSessionClock } from '../support/rows.js';
import { expiredClaimsFor, handSigned, HS256, nowSeconds, OTHER_SECRET, unsignedToken, withoutExp } from '../support/tokens.js';

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
 *      (POST /refresh: a live refresh token in the body instead, see 4; POST /password: A's right
 *      current password too; GET /sessions: only A's own rows, no token in them);
 *   4. no session ends except by its own user's action: user B's session is never presented as a
 *      bearer (its access token only as a body token under A's bearer, which must revoke nothing;
 *      its session id only to DELETE /sessions/:id under A's bearer, which must end nothing; its
 *      refresh token only as it is, which rotates it, or made up, which must change nothing), and
 *      A's sessions may end only by what A does with a live credential of A:
 *        - a 2xx logout under a live bearer of A: scope absent or `current`, the body token's
 *          session (or else the bearer's); `others`, every one but the bearer's; `all`, every one;
 *        - a 2xx DELETE /sessions/:id under a live bearer of A, of that session;
 *        - a 2xx POST /password under a live bearer of A, every one but the bearer's;
 *        - a 401 POST /refresh of a refresh token of that very session that was rotated already
 *          (reuse): after its successor was used, or past REFRESH_REUSE_GRACE (the fuzz moves a
 *          rotation an hour back, as refresh.e2e-spec.ts does, rather than waiting).
 *      What such an action ends, it ends (checked on the rows); anything else may end nothing. A
 *      refresh token rotates only by a 200 of that token (or gets, as a retry within the grace
 *      period, the very successor it got before); refresh_generation says so on every request.
 *
 * Controls keep the fuzz honest: a live token, well formed, on the exact route with no body, must
 * get its 200 (a server refusing everything would otherwise pass 3 and 4); and on the exact routes
 * with a plain JSON body: a live refresh token rotates, a retry gets its successor, a replayed one
 * ends its session, a scope ends what it says, the right current password changes the password, a
 * wrong one is 401 `Credenciales inválidas`, an id that is not a live session of A's is the 404.
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
/** REFRESH_REUSE_GRACE as the app under fuzz has it (the default), and how much clock skew a verdict allows. */
const GRACE_MS = 10_000;
const SKEW_MS = 1_000;
const NOT_FOUND_BODY = envelope(MESSAGES.notFound);
const LIVE_KEYS = ['createdAt', 'current', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent'];
const ENDED_KEYS = [...LIVE_KEYS, 'endReason', 'endedAt'].sort();
const END_REASONS = new Set(['logout', 'logout_others', 'logout_all', 'revoked_by_id', 'password_changed', 'refresh_reuse', 'idle_timeout', 'expired']);
const SCOPES = new Set(['current', 'others', 'all']);

/** `{id}` in a path stands for a session id made from the recipe's `id`. */
const ID = '{id}';
const ROUTES = {
  register: `${API}/register`,
  login: `${API}/login`,
  logout: `${API}/logout`,
  me: `${API}/me`,
  refresh: `${API}/refresh`,
  sessions: `${API}/sessions`,
  session: `${API}/sessions/${ID}`,
  password: `${API}/password`,
  health: '/health',
  docs: '/api/docs',
  docsJson: '/api/docs-json',
} as const;
const OTHER_PATHS = [
  '/',
  '/api',
  API,
  `${API}/`,
  `${API}/sessions/`,
  `${API}/sessions/${ID}/extra`,
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
/** How a refresh token of a tracked session is changed into one the server never issued. */
type RefreshMutation = { truncate: number } | { append: string } | { flip: number; to: number } | { spareBits: true };
type RefreshForgery =
  /** Same session and generation, another secret. */
  | { secret: true }
  /** The session id of another tracked session, the generation and secret of this one. */
  | { sessionOf: Holder }
  /** The real secret under another generation. */
  | { generation: -1 | 1 | 2 | 2_147_483_648 | 4_294_967_295 }
  | { unknownSession: true };
type RefreshRecipe =
  /**
   * A refresh token of a tracked session: its current one, the one it replaced, or an older one
   * (the nearest that exists; B's is always its current one). `aged`: its last rotation is moved
   * an hour back first, past the grace period.
   */
  | { refresh: Holder; gen: 'current' | 'previous' | 'ancestor'; aged: boolean }
  /** One of a session that has ended. */
  | { deadRefresh: number }
  | { refreshMutate: Holder; how: RefreshMutation }
  | { refreshForged: Holder; how: RefreshForgery }
  /** An access token where a refresh token belongs. */
  | { access: TokenRecipe | 'B' };
type SessionIdRecipe =
  | { of: Holder; spelling: 'lower' | 'upper' | 'braces' | 'no-dashes' | 'suffix' }
  /** A session of A that has ended. */
  | { deadSession: number }
  | { unknown: string }
  | { raw: string; encode: boolean };
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
  /** What `{id}` in the base stands for (A0's id when not given). */
  id?: SessionIdRecipe;
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
  | { refresh: RefreshRecipe }
  | { nested: number };
type BodyRecipe =
  | { none: true }
  | { empty: true }
  | { register: { email: string; password: string } }
  | { login: { upper: boolean; rightPassword: boolean } }
  /** `B`: B's genuine token, only ever sent as a body token. */
  | { logout: { token: TokenRecipe | 'B' | null } }
  /** `{ scope }`, with a body token when one is given; `scope` absent when undefined. */
  | { scoped: { scope: fc.JsonValue | undefined; token: TokenRecipe | 'B' | null } }
  /** `{ refreshToken }`, or `{}`. */
  | { refreshBody: { token: RefreshRecipe | null } }
  /** `{ currentPassword, newPassword }`: A's current password, or a wrong one. */
  | { changePassword: { current: 'right' | 'wrong' | 'right-upper' | 'too-long'; next: fc.JsonValue } }
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

const refreshMutationArb: fc.Arbitrary<RefreshMutation> = fc.oneof(
  fc.record({ truncate: fc.integer({ min: 1, max: 69 }) }),
  fc.record({ append: fc.constantFrom('A', '=', '==', '.', '-', '_', ' ', '%00') }),
  fc.record({ flip: fc.nat(), to: fc.nat() }),
  fc.constant({ spareBits: true as const }),
);

const refreshForgeryArb: fc.Arbitrary<RefreshForgery> = fc.oneof(
  fc.constant({ secret: true as const }),
  fc.record({ sessionOf: holderArb }),
  fc.record({ generation: fc.constantFrom<-1 | 1 | 2 | 2_147_483_648 | 4_294_967_295>(-1, 1, 2, 2_147_483_648, 4_294_967_295) }),
  fc.constant({ unknownSession: true as const }),
);

/** `liveWeight` tunes how often a tracked session's own token comes out (current, previous or older). */
const refreshRecipeArb = (liveWeight: number): fc.Arbitrary<RefreshRecipe> =>
  fc.oneof(
    {
      weight: liveWeight,
      arbitrary: fc.record({
        refresh: fc.constantFrom<Holder>('A0', 'A1', 'A0', 'A1', 'B'),
        gen: fc.constantFrom<'current' | 'previous' | 'ancestor'>('current', 'current', 'previous', 'previous', 'ancestor'),
        aged: fc.constantFrom(false, false, false, true),
      }),
    },
    { weight: 1, arbitrary: fc.record({ deadRefresh: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ refreshMutate: holderArb, how: refreshMutationArb }) },
    { weight: 2, arbitrary: fc.record({ refreshForged: holderArb, how: refreshForgeryArb }) },
    { weight: 1, arbitrary: fc.record({ access: fc.oneof(tokenArb(2), fc.constant('B' as const)) }) },
  );

const sessionIdArb: fc.Arbitrary<SessionIdRecipe> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      of: holderArb,
      spelling: fc.constantFrom<'lower' | 'upper' | 'braces' | 'no-dashes' | 'suffix'>('lower', 'lower', 'lower', 'upper', 'braces', 'no-dashes', 'suffix'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ deadSession: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ unknown: fc.uuid() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      raw: fc.constantFrom(
        "' OR '1'='1",
        "1' OR 1=1 --",
        '1; DROP TABLE sessions; --',
        "00000000-0000-0000-0000-000000000000' OR user_id IS NOT NULL --",
        '00000000-0000-0000-0000-000000000000',
        'ffffffff-ffff-ffff-ffff-ffffffffffff',
        '(SELECT id FROM sessions LIMIT 1)',
        '$1',
        'null',
        'undefined',
        'current',
        'all',
        '*',
        '%',
        '0',
        '-1',
        '..',
        '{}',
        '[]',
        'é',
        '😀',
        '\u0000',
        'x'.repeat(36),
        'x'.repeat(101),
        'x'.repeat(3000),
      ),
      encode: fc.boolean(),
    }),
  },
);

/** What `scope` is: mostly one of the three, sometimes anything else a client could send. */
const scopeArb: fc.Arbitrary<fc.JsonValue | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<fc.JsonValue | undefined>('current', 'others', 'all') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<fc.JsonValue>('ALL', 'Others', '', ' all', 'all ', 'none', 'others,all', 'current\u0000', null, 0, 1, true, ['all'], { scope: 'all' }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

/** A new password: mostly valid, sometimes too short, too long, or not a string. */
const newPasswordArb: fc.Arbitrary<fc.JsonValue> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 8, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom<fc.JsonValue>('1234567', 'x'.repeat(128), 'x'.repeat(129), '', '        ', '\u0000'.repeat(8)) },
  { weight: 1, arbitrary: fc.constantFrom<fc.JsonValue>(null, 12345678, true, ['password-123'], { password: 'password-123' }) },
);

const sessionsQueryArb = fc.constantFrom(
  '?state=live',
  '?state=ended',
  '?state=ended',
  '?state=LIVE',
  '?state=',
  '?state',
  '?state=all',
  '?state=revoked',
  '?state=ended&state=live',
  '?state[]=ended',
  '?state=ended%00',
  "?state=ended'%20OR%20'1'='1",
  '?state=__proto__',
  '?state=ended&a=1',
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
    query: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: queryArb }, { weight: 1, arbitrary: sessionsQueryArb }),
    id: sessionIdArb,
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
    fc.record({ refresh: refreshRecipeArb(liveWeight) }),
    fc.record({ nested: fc.integer({ min: 1, max: 400 }) }),
  );

const keyArb = (fields: readonly string[]): fc.Arbitrary<Key> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...fields) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'scope', 'toString', 'hasOwnProperty', 'role', '', 'refreshToken', 'refresh_token'),
    },
    // Keys spelled with escapes: `token`, `refreshToken`, `scope`, and a lone surrogate.
    {
      weight: 1,
      arbitrary: fc.record({
        rawKey: fc.constantFrom('"\\u0074oken"', '"em\\u0061il"', '"\\ud800"', '"refresh\\u0054oken"', '"sc\\u006fpe"'),
      }),
    },
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

/** `{ scope }`, now and then with a body token as well (400 but with `current`). */
const scopedBodyArb = (liveWeight: number): fc.Arbitrary<BodyRecipe> =>
  fc.record({
    scoped: fc.record({
      scope: scopeArb,
      token: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: bodyTokenArb(liveWeight) }),
    }),
  });

/** `{ refreshToken }`, once in a while `{}`. */
const refreshBodyArb = (liveWeight: number): fc.Arbitrary<BodyRecipe> =>
  fc.record({ refreshBody: fc.record({ token: fc.option(refreshRecipeArb(liveWeight), { freq: 12 }) }) });

const passwordBodyArb: fc.Arbitrary<BodyRecipe> = fc.record({
  changePassword: fc.record({
    current: fc.constantFrom<'right' | 'wrong' | 'right-upper' | 'too-long'>('right', 'right', 'wrong', 'right-upper', 'too-long'),
    next: newPasswordArb,
  }),
});

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
    { weight: 1, arbitrary: scopedBodyArb(liveWeight) },
    { weight: 1, arbitrary: refreshBodyArb(liveWeight) },
    { weight: 1, arbitrary: passwordBodyArb },
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
const ALL_FIELDS = ['email', 'password', 'token', 'refreshToken', 'scope', 'currentPassword', 'newPassword'];

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
    { weight: 2, arbitrary: scopedBodyArb(3) },
    { weight: 2, arbitrary: bodyArb(['token'], 3) },
  ),
});

/** A live bearer of A, well formed (now and then a re-signed token of the same session). */
const liveBearerArb: fc.Arbitrary<AuthRecipe> = fc.record({
  lead: fc.constant(''),
  scheme: fc.constantFrom('Bearer', 'Bearer', 'bearer'),
  sep: fc.constant(' '),
  token: fc.oneof(
    { weight: 6, arbitrary: fc.record({ live: fc.constantFrom<0 | 1>(0, 1) }) },
    { weight: 1, arbitrary: fc.record({ resigned: fc.constantFrom<0 | 1>(0, 1), pad: fc.constant(0) }) },
  ),
  trailer: fc.constant(''),
});

const fewMutationsArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant<PathMutation[]>([]) },
  { weight: 1, arbitrary: fc.array(pathMutationArb, { minLength: 1, maxLength: 2 }) },
);

/** POST /refresh with refresh tokens of every kind (live, rotated, replayed, made up, an access token) and of every JSON type. */
const refreshRequestArb: fc.Arbitrary<RequestRecipe> = fc.record({
  method: fc.oneof({ weight: 10, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: methodArb }),
  path: fc.record({
    base: fc.constant<string>(ROUTES.refresh),
    mutations: fewMutationsArb,
    query: fc.oneof({ weight: 10, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: queryArb }),
  }),
  auth: fc.oneof({ weight: 6, arbitrary: fc.constant({ none: true as const }) }, { weight: 1, arbitrary: authArb(4) }),
  contentType: contentTypeArb(12),
  requestId: fc.oneof({ weight: 4, arbitrary: fc.constant({ none: true as const }) }, { weight: 1, arbitrary: requestIdArb }),
  body: fc.oneof(
    { weight: 8, arbitrary: refreshBodyArb(10) },
    // refreshToken as every JSON type, an access token, a tricky string, next to other keys.
    { weight: 3, arbitrary: fc.record({ fields: fc.array(fc.tuple(keyArb(['refreshToken']), valueArb(3)), { minLength: 1, maxLength: 3 }) }) },
    { weight: 1, arbitrary: bodyArb(['refreshToken'], 2) },
  ),
});

/** One of the session-control routes, mostly well aimed, mostly under a live bearer of A. */
const sessionControlArb = (
  route: fc.Arbitrary<[string, string]>,
  query: fc.Arbitrary<string | null>,
  body: fc.Arbitrary<BodyRecipe>,
): fc.Arbitrary<RequestRecipe> =>
  fc.record({
    method: fc.oneof({ weight: 12, arbitrary: route }, { weight: 1, arbitrary: fc.tuple(methodArb, route.map(([, base]) => base)) }),
    mutations: fewMutationsArb,
    query,
    id: sessionIdArb,
    auth: fc.oneof({ weight: 6, arbitrary: liveBearerArb }, { weight: 1, arbitrary: authArb(4) }),
    contentType: contentTypeArb(12),
    requestId: fc.oneof({ weight: 4, arbitrary: fc.constant({ none: true as const }) }, { weight: 1, arbitrary: requestIdArb }),
    body: fc.oneof({ weight: 8, arbitrary: body }, { weight: 1, arbitrary: bodyArb(ALL_FIELDS, 3) }),
  }).map(({ method: [method, base], mutations, query, id, ...rest }) => ({ method, path: { base, mutations, query, id }, ...rest }));

/** GET /sessions (with ?state=), DELETE /sessions/:id (any id), POST /password and POST /logout with a scope. */
const sessionControlRequestArb: fc.Arbitrary<RequestRecipe> = fc.oneof(
  {
    weight: 3,
    arbitrary: sessionControlArb(
      fc.constant(['GET', ROUTES.sessions]),
      fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: sessionsQueryArb }, { weight: 1, arbitrary: queryArb }),
      fc.constant({ none: true as const }),
    ),
  },
  {
    weight: 5,
    arbitrary: sessionControlArb(
      fc.constant(['DELETE', ROUTES.session]),
      fc.oneof({ weight: 10, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: queryArb }),
      fc.oneof({ weight: 6, arbitrary: fc.constant({ none: true as const }) }, { weight: 1, arbitrary: fc.constant({ empty: true as const }) }),
    ),
  },
  {
    weight: 3,
    arbitrary: sessionControlArb(
      fc.constant(['POST', ROUTES.password]),
      fc.constant(null),
      fc.oneof(
        { weight: 4, arbitrary: passwordBodyArb },
        // Wrong types and odd keys: every JSON type as either password.
        {
          weight: 2,
          arbitrary: fc.record({ fields: fc.array(fc.tuple(keyArb(['currentPassword', 'newPassword']), valueArb(2)), { minLength: 1, maxLength: 3 }) }),
        },
      ),
    ),
  },
  {
    weight: 4,
    arbitrary: sessionControlArb(
      fc.constant(['POST', ROUTES.logout]),
      fc.constant(null),
      fc.oneof({ weight: 5, arbitrary: scopedBodyArb(5) }, { weight: 1, arbitrary: logoutBodyArb(5) }),
    ),
  },
);

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
/** A tracked session's refresh tokens, oldest first: the last one is its current one. */
interface Chain {
  tokens: string[];
  /** When the last rotation happened, as seen from here: between `sent` and `received` (ms). */
  rotated?: { sent: number; received: number };
}
/** What the test knows of a refresh token it sends. */
interface RefreshInfo {
  /**
   * Of a tracked live session: its current token, the one it replaced, or an older one. `other`:
   * nothing the server issued for a live session (made up, of an ended session, an access token),
   * which may change nothing.
   */
  kind: 'current' | 'previous' | 'ancestor' | 'other';
  sessionId?: string;
}

/** Keeps the last `max` items. */
const keepLast = <T>(list: T[], items: T[], max: number) => {
  list.push(...items);
  list.splice(0, Math.max(0, list.length - max));
};

class FuzzState {
  /** A's two tracked live sessions; replaced by a fresh login when the fuzz ends one. */
  a: [Session, Session];
  /** Access tokens, refresh tokens and ids of A's sessions that have ended. */
  dead: string[] = [];
  deadRefresh: string[] = [];
  deadSessions: string[] = [];
  /** The refresh tokens of every tracked session (A's two and B's), by session id. */
  readonly chains = new Map<string, Chain>();

  constructor(
    private readonly t: TestApp,
    /** `password` follows the fuzz's password changes. */
    readonly userA: LoggedIn,
    a0Refresh: string,
    a1: Session & { refreshToken: string },
    /** Never a bearer: its session must outlive the fuzz. */
    public userB: LoggedIn,
    bRefresh: string,
  ) {
    this.a = [{ token: userA.token, sessionId: userA.sessionId }, { token: a1.token, sessionId: a1.sessionId }];
    this.chains.set(userA.sessionId, { tokens: [a0Refresh] });
    this.chains.set(a1.sessionId, { tokens: [a1.refreshToken] });
    this.chains.set(userB.sessionId, { tokens: [bRefresh] });
  }

  holder(h: Holder): { userId: string; sessionId: string; token: string } {
    if (h === 'B') return this.userB;
    const session = this.a[h === 'A0' ? 0 : 1];
    return { userId: this.userA.userId, ...session };
  }

  chain(h: Holder): Chain {
    return this.chains.get(this.holder(h).sessionId)!;
  }

  /** Every refresh token of a tracked session: none of them may come out of a mutation. */
  isTrackedRefreshToken(token: string): boolean {
    return [...this.chains.values()].some((c) => c.tokens.includes(token));
  }

  private async login(user: { email: string; password: string }): Promise<Session> {
    const { token, sessionId, refreshToken } = await loginWithRefresh(this.t, user.email, user.password).catch((err: Error) => {
      throw new Error(`the fuzz could not log in again with the password it knows (${JSON.stringify(user.password)}): ${err.message}`);
    });
    this.chains.set(sessionId, { tokens: [refreshToken] });
    return { token, sessionId };
  }

  /** After a failure: B logs in again, so that the next requests (and shrinking) are judged afresh. */
  async replaceB(): Promise<void> {
    this.chains.delete(this.userB.sessionId);
    this.userB = { ...this.userB, ...(await this.login(this.userB)) };
  }

  /**
   * Replaces A's session `index`, which has just ended; or, after a failure left it in a state the
   * test does not know (`ended` false), leaves it be, untracked.
   */
  async replace(index: 0 | 1, ended = true): Promise<void> {
    const { token, sessionId } = this.a[index];
    if (ended) {
      keepLast(this.dead, [token], 20);
      keepLast(this.deadRefresh, this.chains.get(sessionId)?.tokens ?? [], 40);
      keepLast(this.deadSessions, [sessionId], 20);
    }
    this.chains.delete(sessionId);
    this.a[index] = await this.login(this.userA);
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
  /** `scope` in a parsed JSON body (undefined when absent). */
  bodyScope?: unknown;
  /** The body as parsed, when it is a JSON object. */
  bodyObject?: Record<string, unknown>;
  /** What `refreshToken` in a parsed JSON object body is (any type but a string: `other`). */
  bodyRefresh?: RefreshInfo;
  /** The path with its session id, before mutations and query; the session it names, if a tracked one. */
  sessionPath?: { exact: string; names?: string };
  /** A session whose last rotation is to be moved an hour back before sending. */
  aged?: string;
  sentRequestId?: string;
}

/** Percent-encodes what may not go raw in a request target (controls, spaces, non-ASCII), and nothing else. */
const escapeUnsafe = (s: string) => s.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));

class Materializer {
  /** Every token made for this request, and what the test knows of it. */
  readonly tokens = new Map<string, TokenInfo>();
  /** Every refresh token made for this request, and what the test knows of it. */
  readonly refreshTokens = new Map<string, RefreshInfo>();
  private aged?: string;
  private sessionPath?: { exact: string; names?: string };

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

  refreshToken(recipe: RefreshRecipe): string {
    const { token, info } = this.makeRefresh(recipe);
    if (info.kind === 'other' && this.state.isTrackedRefreshToken(token)) {
      throw new Error(`test bug: ${JSON.stringify(recipe)} gave a token of a tracked session`);
    }
    if (!this.refreshTokens.has(token) || info.kind !== 'other') this.refreshTokens.set(token, info);
    return token;
  }

  private makeRefresh(recipe: RefreshRecipe): { token: string; info: RefreshInfo } {
    const s = this.state;
    const other = { kind: 'other' as const };
    if ('refresh' in recipe) {
      const { sessionId } = s.holder(recipe.refresh);
      const { tokens } = s.chain(recipe.refresh);
      const n = tokens.length;
      // B's session is never replayed: only its current token, which rotates it.
      const wanted = recipe.refresh === 'B' ? 'current' : recipe.gen;
      const i = wanted === 'previous' && n >= 2 ? n - 2 : wanted === 'ancestor' && n >= 3 ? n - 3 : n - 1;
      if (recipe.aged && recipe.refresh !== 'B' && n >= 2) this.aged = sessionId;
      const kind = i === n - 1 ? 'current' : i === n - 2 ? 'previous' : 'ancestor';
      return { token: tokens[i]!, info: { kind, sessionId } };
    }
    if ('deadRefresh' in recipe) return { token: s.deadRefresh[recipe.deadRefresh % s.deadRefresh.length]!, info: other };
    if ('access' in recipe) return { token: this.token(recipe.access), info: other };
    if ('refreshMutate' in recipe) {
      const token = s.chain(recipe.refreshMutate).tokens.at(-1)!;
      const how = recipe.how;
      if ('truncate' in how) return { token: token.slice(0, -how.truncate), info: other };
      if ('append' in how) return { token: token + how.append, info: other };
      if ('flip' in how) {
        const at = how.flip % token.length;
        const next = TOKEN_CHARS[(TOKEN_CHARS.indexOf(token[at]!) + 1 + (how.to % (TOKEN_CHARS.length - 1))) % TOKEN_CHARS.length];
        return { token: token.slice(0, at) + next + token.slice(at + 1), info: other };
      }
      // The last character carries 2 bits and 4 spare ones, zero in the only canonical spelling.
      const last = TOKEN_CHARS.indexOf(token.at(-1)!);
      return { token: token.slice(0, -1) + TOKEN_CHARS[last | 1], info: other };
    }
    if ('refreshForged' in recipe) {
      const bytes = Buffer.from(s.chain(recipe.refreshForged).tokens.at(-1)!, 'base64url');
      const how = recipe.how;
      if ('secret' in how) randomBytes(32).copy(bytes, 20);
      else if ('unknownSession' in how) randomBytes(16).copy(bytes, 0);
      else if ('sessionOf' in how) {
        const of = how.sessionOf !== recipe.refreshForged ? how.sessionOf : recipe.refreshForged === 'B' ? 'A0' : 'B';
        Buffer.from(s.holder(of).sessionId.replaceAll('-', ''), 'hex').copy(bytes, 0);
      } else {
        const generation = Math.abs(how.generation) > 2 ? how.generation : bytes.readUInt32BE(16) + how.generation;
        bytes.writeUInt32BE(generation < 0 ? 2 ** 32 - 1 : generation, 16);
      }
      return { token: bytes.toString('base64url'), info: other };
    }
    throw new Error(`test bug: unknown refresh recipe ${JSON.stringify(recipe)}`);
  }

  /** A session id as a path segment, and the tracked session it names, if it is a live one's canonical spelling. */
  private sessionSegment(recipe: SessionIdRecipe): { segment: string; names?: string } {
    const s = this.state;
    if ('of' in recipe) {
      const id = s.holder(recipe.of).sessionId;
      switch (recipe.spelling) {
        case 'lower':
          return { segment: id, names: id };
        case 'upper':
          return { segment: id.toUpperCase(), names: id };
        case 'braces':
          return { segment: `{${id}}` };
        case 'no-dashes':
          return { segment: id.replaceAll('-', '') };
        case 'suffix':
          return { segment: escapeUnsafe(`${id}' OR '1'='1`) };
      }
    }
    if ('deadSession' in recipe) return { segment: s.deadSessions[recipe.deadSession % s.deadSessions.length]! };
    if ('unknown' in recipe) return { segment: recipe.unknown };
    return { segment: recipe.encode ? encodeURIComponent(recipe.raw) : escapeUnsafe(recipe.raw) };
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
    if (path.includes(ID)) {
      const { segment, names } = this.sessionSegment(recipe.id ?? { of: 'A0', spelling: 'lower' });
      path = path.replace(ID, segment);
      this.sessionPath = { exact: path, names };
    }
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
    if ('refresh' in recipe) return JSON.stringify(this.refreshToken(recipe.refresh));
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
    if ('scoped' in recipe) {
      const { scope, token } = recipe.scoped;
      return JSON.stringify({ ...(token ? { token: this.token(token) } : {}), ...(scope === undefined ? {} : { scope }) });
    }
    if ('refreshBody' in recipe) {
      return recipe.refreshBody.token ? JSON.stringify({ refreshToken: this.refreshToken(recipe.refreshBody.token) }) : '{}';
    }
    if ('changePassword' in recipe) {
      const { current, next } = recipe.changePassword;
      const password = s.userA.password;
      const currentPassword = {
        right: password,
        'right-upper': password.toUpperCase(),
        wrong: `wrong-${password}`.slice(0, 128),
        'too-long': 'x'.repeat(129),
      }[current];
      return JSON.stringify({ currentPassword, newPassword: next });
    }
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
    const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    const bodyHasToken = object !== undefined && Object.hasOwn(object, 'token');
    const bodyToken = bodyHasToken ? (object as { token: unknown }).token : undefined;
    const refreshToken = object !== undefined && Object.hasOwn(object, 'refreshToken') ? object.refreshToken : undefined;
    const bodyHasScope = object !== undefined && Object.hasOwn(object, 'scope');
    const path = this.path(recipe.path);
    return {
      method: recipe.method,
      path,
      headers,
      body: text === undefined ? undefined : Buffer.from(text, 'utf8'),
      bearer: auth.info,
      bodyHasToken,
      bodyToken: typeof bodyToken === 'string' ? (this.tokens.get(bodyToken) ?? { live: false }) : undefined,
      bodyHasScope,
      bodyScope: bodyHasScope ? object!.scope : undefined,
      bodyObject: object,
      bodyRefresh:
        object === undefined || !Object.hasOwn(object, 'refreshToken')
          ? undefined
          : typeof refreshToken === 'string'
            ? (this.refreshTokens.get(refreshToken) ?? { kind: 'other' })
            : { kind: 'other' },
      sessionPath: this.sessionPath,
      aged: this.aged,
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

/** The session id a DELETE /sessions/:id names, lowercased, as the router hands it over. */
function sessionIdInPath(target: string): string | undefined {
  const match = /\/sessions\/([^/]+)\/?$/.exec(target.split(/[?#]/)[0]!);
  try {
    return match ? decodeURIComponent(match[1]!).toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/** How deeply a JSON value nests: 0 for a scalar. */
const depthOf = (value: unknown): number =>
  typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;

/** The claims of a JWT, without checking anything. */
function decodePayload(token: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
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

  // 3. Only a genuine live credential gets a 2xx from a protected route. POST /refresh needs a
  // live refresh token in the body instead: checked against the rows in `exchange`.
  if (ok) {
    const publicAnswer =
      body !== undefined
        ? PUBLIC_SUCCESSES.has(body.message as string)
        : isDocsPath(req.path) || (req.method === 'HEAD' && pathnameOf(req.path) === ROUTES.health);
    if (!publicAnswer && body?.message !== MESSAGES.refreshed && !req.bearer.genuine) problems.push('a 2xx without a genuine live credential');
    if (body?.message === ME) {
      const data = body.data as Record<string, unknown>;
      if (data.id !== state.userA.userId || data.sessionId !== req.bearer.sessionId) {
        problems.push("GET /me answered for another session than the bearer's");
      }
    }
    if (req.method === 'POST' && body?.message === MESSAGES.loggedOut) problems.push(...logoutProblems(req, res, body));
    if (body?.message === MESSAGES.passwordChanged) {
      const { currentPassword, newPassword } = req.bodyObject ?? {};
      if (currentPassword !== state.userA.password) problems.push('the password changed without the right current password');
      if (typeof newPassword !== 'string') problems.push('the password changed to something that is not a string');
      if (!isCount((body.data as { revokedSessions?: unknown } | undefined)?.revokedSessions)) {
        problems.push('a password change without data.revokedSessions');
      }
    }
    if (body?.message === MESSAGES.sessions) problems.push(...sessionListProblems(req, res, body, state));
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
  const listPaths = [ROUTES.sessions, `${ROUTES.sessions}?state=live`, `${ROUTES.sessions}?state=ended`];
  if (plain && (exactly('GET', ROUTES.me) || exactly('POST', ROUTES.logout) || listPaths.some((p) => exactly('GET', p))) && res.status !== 200) {
    problems.push(`a live token was refused (${res.status})`);
  }
  // DELETE /sessions/:id on the exact path: 200 for a live session of A's, the one 404 for any
  // other id (B's, an ended one, an unknown one, a malformed one).
  const target = req.sessionPath;
  if (plain && req.method === 'DELETE' && target && req.path === target.exact && decodes(target.exact)) {
    const own = target.names !== undefined && state.a.some((s) => s.sessionId === target.names);
    if (own && res.status !== 200) problems.push(`DELETE of a live session of the bearer's user was refused (${res.status})`);
    if (!own && (res.status !== 404 || res.text !== NOT_FOUND_BODY)) {
      problems.push(`DELETE of an id that is not a live session of the bearer's user: ${res.status}, not the one 404`);
    }
  }
  // A plain JSON body on the exact route: a scope does what it says, or is a 400; the right
  // current password changes the password, a wrong one is 401 Credenciales inválidas.
  const json =
    req.bearer.genuine &&
    req.bearer.wellFormed &&
    /^application\/json(; charset=utf-8)?$/i.test(contentType ?? '') &&
    (req.sentRequestId?.length ?? 0) < 1000;
  // Canonical JSON only: no duplicate keys, no escapes in keys, nothing nested too deep.
  const canonical = req.bodyObject !== undefined && req.body?.toString('utf8') === JSON.stringify(req.bodyObject);
  const keys = canonical ? Object.keys(req.bodyObject!).sort().join() : undefined;
  if (json && exactly('POST', ROUTES.logout) && keys === 'scope') {
    const valid = SCOPES.has(req.bodyScope as string);
    if (valid && res.status !== 200) problems.push(`logout with scope ${String(req.bodyScope)} was refused (${res.status})`);
    if (!valid && res.status !== 400) problems.push(`logout with scope ${clip(JSON.stringify(req.bodyScope))}: ${res.status}, not 400`);
  }
  if (json && exactly('POST', ROUTES.password) && keys === 'currentPassword,newPassword') {
    const { currentPassword: current, newPassword: next } = req.bodyObject!;
    if (typeof current === 'string' && current !== '' && current.length <= 128 && typeof next === 'string' && /^[\x20-\x7e]{8,128}$/.test(next)) {
      if (current === state.userA.password && res.status !== 200) problems.push(`the right current password was refused (${res.status})`);
      const badCredentials = res.status === 401 && res.text === BAD_CREDENTIALS_BODY && res.headers['www-authenticate'] === undefined;
      if (current !== state.userA.password && !badCredentials) {
        problems.push(`a wrong current password: ${res.status}, not 401 Credenciales inválidas without WWW-Authenticate`);
      }
    }
  }
  return { problems, body };
}

const isCount = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;

/** Whether a request target's path percent-decodes. */
function decodes(target: string): boolean {
  try {
    decodeURIComponent(target.split(/[?#]/)[0]!);
    return true;
  } catch {
    return false;
  }
}

/** A 2xx POST /logout: the body token and scope it accepted, its data, its Clear-Site-Data. */
function logoutProblems(req: Request, res: Response, body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (req.bodyHasToken && !req.bodyToken?.live) problems.push('logout accepted a body token that is not a live token of the bearer');
  const scope = req.bodyScope;
  if (req.bodyHasScope && !SCOPES.has(scope as string)) problems.push(`logout accepted scope ${clip(JSON.stringify(scope))}`);
  const wide = scope === 'others' || scope === 'all';
  if (wide && req.bodyHasToken) problems.push(`logout accepted a body token with scope ${scope}`);
  const data = body.data as Record<string, unknown> | undefined;
  const counted = data !== undefined && Object.keys(data).join() === 'revokedSessions' && isCount(data.revokedSessions);
  if (wide && !counted) problems.push(`logout with scope ${scope} without data: { revokedSessions }`);
  if (!wide && data !== undefined) problems.push('logout of one session with data');
  const clears = res.headers['clear-site-data'] === '"cookies", "storage"';
  if (scope === 'others' && clears) problems.push("logout of the other sessions cleared this client's site data");
  if (scope !== 'others' && !clears) problems.push('logout without Clear-Site-Data');
  return problems;
}

/** A 2xx GET /sessions: the state asked for, the fields of each session, the current flag, no token. */
function sessionListProblems(req: Request, res: Response, body: Record<string, unknown>, state: FuzzState): string[] {
  const problems: string[] = [];
  const sessions = (body.data as { sessions?: unknown } | undefined)?.sessions;
  if (!Array.isArray(sessions)) return ['GET /sessions without data.sessions'];
  const states = new URLSearchParams(req.path.split('#')[0]!.split('?')[1] ?? '').getAll('state');
  if (!(states.length === 0 || (states.length === 1 && (states[0] === 'live' || states[0] === 'ended')))) {
    problems.push(`GET /sessions answered 2xx to state ${JSON.stringify(states)}`);
  }
  const ended = states[0] === 'ended';
  for (const session of sessions as Array<Record<string, unknown>>) {
    const keys = Object.keys(session ?? {}).sort();
    if (keys.join() !== (ended ? ENDED_KEYS : LIVE_KEYS).join()) problems.push(`a listed session with keys ${keys.join(', ')}`);
    if (session.current !== (!ended && session.id === req.bearer.sessionId)) problems.push('a listed session with the wrong current flag');
    if (ended && !END_REASONS.has(session.endReason as string)) problems.push(`a listed session ended for ${String(session.endReason)}`);
  }
  if (!ended) {
    const listed = new Set(sessions.map((s: { id?: unknown }) => s?.id));
    if (!state.a.every((s) => listed.has(s.sessionId))) problems.push("the live list misses one of A's live sessions");
  }
  const secrets = [...state.a.map((s) => s.token), state.userB.token, ...[...state.chains.values()].flatMap((c) => c.tokens)];
  if (secrets.some((secret) => res.text.includes(secret))) problems.push('a token in the session list');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The fuzz
// ---------------------------------------------------------------------------------------------

describe('fuzz: random requests to every route', () => {
  let t: TestApp;
  let port: number;
  let state: FuzzState;
  /** B as first logged in: `state.userB` is replaced after a failure, this is what must outlive the fuzz. */
  let originalB: WithRefresh;
  const statuses = new Map<number, number>();

  /** Counts of what the fuzz did, printed at the end: proof that each way of ending a session was taken. */
  const events = new Map<string, number>();
  const note = (event: string) => events.set(event, (events.get(event) ?? 0) + 1);

  /** Whether each session has ended, and how many times its refresh token was rotated. */
  const rowsOf = async (sessionIds: string[]): Promise<Map<string, { ended: boolean; generation: number }>> => {
    const rows: Array<{ id: string; ended: boolean; generation: number }> = await t.dataSource.query(
      'SELECT id, revoked_at IS NOT NULL AS ended, refresh_generation AS generation FROM sessions WHERE id = ANY($1::uuid[])',
      [sessionIds],
    );
    return new Map(rows.map(({ id, ...row }) => [id, row]));
  };

  beforeAll(async () => {
    // Generous limits: a 429 would hide what the request would otherwise have got.
    t = await startApp({
      THROTTLE_LOGOUT_LIMIT: '1000000',
      THROTTLE_LOGIN_LIMIT: '1000000',
    });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;

    const userA = await registerAndLoginWithRefresh(t);
    const a1 = await loginWithRefresh(t, userA.email, userA.password);
    originalB = await registerAndLoginWithRefresh(t);
    state = new FuzzState(t, { ...userA }, userA.refreshToken, a1, { ...originalB }, originalB.refreshToken);
    // Tokens of logged-out sessions: one ended by its own bearer, one as a body token.
    for (const viaBody of [false, true]) {
      const ended = await loginWithRefresh(t, userA.email, userA.password);
      const req = t.http().post(`${API}/logout`);
      if (viaBody) await req.set(bearer(userA.token)).send({ token: ended.token }).expect(200);
      else await req.set(bearer(ended.token)).expect(200);
      state.dead.push(ended.token);
      state.deadRefresh.push(ended.refreshToken);
      state.deadSessions.push(ended.sessionId);
    }
    const tracked = [...state.a.map((s) => s.sessionId), state.userB.sessionId];
    const rows = await rowsOf(tracked);
    expect(tracked.map((id) => rows.get(id)?.ended), 'the sessions the fuzz starts from are live').toEqual([false, false, false]);
  });

  afterAll(async () => {
    console.log(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    console.log(`fuzz events: ${JSON.stringify(Object.fromEntries([...events].sort()))}`);
    await t?.close();
  });

  /** Sends one generated request and checks every property; throws with the exchange on failure. */
  async function exchange(recipe: RequestRecipe): Promise<void> {
    const before = { a: [...state.a] as [Session, Session], b: state.userB.sessionId };
    const req = new Materializer(state).request(recipe);
    if (req.aged) {
      // Past the grace period, without waiting for it (as refresh.e2e-spec.ts does).
      await setSessionClock(t, req.aged, 'refreshed_at', -3600);
      const hourAgo = Date.now() - 3_600_000;
      state.chains.get(req.aged)!.rotated = { sent: hourAgo, received: hourAgo };
    }
    const sent = Date.now();
    const res = await send(port, req).catch((err: Error) => err);
    const received = Date.now();
    if (!(res instanceof Error)) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const { problems, body } = res instanceof Error ? { problems: ['no answer'], body: undefined } : checkAnswer(req, res, state);
    const success = body?.success === true;

    // 4. What A did with a live credential, and so which of A's sessions may end, and must.
    const aIds = before.a.map((s) => s.sessionId);
    const may = new Map<string, string>();
    const must = new Set<string>();
    const ends = (ids: string[], why: string, required = true) => {
      for (const id of ids) {
        may.set(id, why);
        if (required) must.add(id);
      }
    };
    const bearerSid = req.bearer.genuine ? req.bearer.sessionId : undefined;
    if (success && bearerSid) {
      if (body.message === MESSAGES.loggedOut && req.method === 'POST') {
        const scope = req.bodyScope;
        if (scope === 'others') ends(aIds.filter((id) => id !== bearerSid), 'logout scope others');
        else if (scope === 'all') ends(aIds, 'logout scope all');
        else {
          const target = req.bodyHasToken ? req.bodyToken?.sessionId : bearerSid;
          if (target === undefined || !aIds.includes(target)) problems.push('logout answered 2xx, but named no live session of A');
          else ends([target], 'logout');
        }
      } else if (body.message === MESSAGES.loggedOut && req.method === 'DELETE') {
        const id = sessionIdInPath(req.path);
        if (id === undefined || !aIds.includes(id)) problems.push('DELETE /sessions/:id answered 2xx for an id that is not a live session of A');
        else ends([id], 'DELETE /sessions/:id');
      } else if (body.message === MESSAGES.passwordChanged) {
        ends(aIds.filter((id) => id !== bearerSid), 'password change');
      }
    }
    // A refresh token of A's that was rotated already: reuse, when the answer is the token 401.
    const refresh = req.bodyRefresh;
    const chain = refresh?.sessionId === undefined ? undefined : state.chains.get(refresh.sessionId);
    const rotated = chain?.rotated;
    const inGrace = rotated !== undefined && received - rotated.sent < GRACE_MS - SKEW_MS;
    const pastGrace = rotated === undefined || sent - rotated.received > GRACE_MS + SKEW_MS;
    const contentType = req.headers['content-type'] ?? '';
    const plainRefresh =
      req.method === 'POST' &&
      req.path === ROUTES.refresh &&
      /^application\/json(; charset=utf-8)?$/i.test(contentType) &&
      req.body?.toString('utf8') === JSON.stringify({ refreshToken: req.bodyObject?.refreshToken }) &&
      (req.headers.authorization === undefined || req.bearer.wellFormed) &&
      (req.sentRequestId?.length ?? 0) < 1000;
    const replayed = refresh?.kind === 'ancestor' || (refresh?.kind === 'previous' && pastGrace);
    if (refresh?.sessionId && aIds.includes(refresh.sessionId) && (refresh.kind === 'previous' || refresh.kind === 'ancestor')) {
      if (!(res instanceof Error) && res.status === 401 && res.text === INVALID_TOKEN_BODY) {
        ends([refresh.sessionId], `refresh reuse (${refresh.kind})`, plainRefresh && replayed);
      }
    }

    // Refresh: a 2xx only for a live refresh token, for its session; a retry gets the very successor.
    if (success && body.message === MESSAGES.refreshed) {
      const data = body.data as Record<string, unknown>;
      if (!refresh || !chain || (refresh.kind !== 'current' && refresh.kind !== 'previous')) {
        problems.push('a refresh 2xx for a refresh token that is not live');
      } else {
        if (data.sessionId !== refresh.sessionId) problems.push("a refresh answered for another session than its token's");
        if (typeof data.accessToken !== 'string' || decodePayload(data.accessToken)?.sid !== refresh.sessionId) {
          problems.push("a refresh gave an access token of another session than its token's");
        }
        if (refresh.kind === 'current') {
          if (typeof data.refreshToken !== 'string' || chain.tokens.includes(data.refreshToken)) {
            problems.push('a refresh did not give a new refresh token');
          } else {
            chain.tokens.push(data.refreshToken);
            chain.rotated = { sent, received };
            note('refresh: rotated');
          }
        } else {
          if (data.refreshToken !== chain.tokens.at(-1)) problems.push('a retry got another successor than the first time: the session forked');
          if (pastGrace) problems.push('a rotated refresh token was taken for a retry past the grace period');
          note('refresh: retry');
        }
      }
    }
    if (refresh && refresh.kind !== 'other' && !(res instanceof Error)) note(`refresh ${refresh.kind}${plainRefresh ? ' (plain)' : ''}: ${res.status}`);
    if (plainRefresh && refresh && !(res instanceof Error)) {
      const live = refresh.kind === 'current' || (refresh.kind === 'previous' && inGrace);
      // Anything but a live token is the token 401 (a body nested too deep, with a lone
      // surrogate, which is no Unicode text, or with prototype poisoning is a 400 first).
      const text = JSON.stringify(req.bodyObject);
      const wellFormed =
        depthOf(req.bodyObject) <= 8 && !/\\ud[89a-f][0-9a-f]{2}/i.test(text) && !/__proto__|constructor|prototype/.test(text);
      const dead = (refresh.kind === 'other' && wellFormed) || replayed;
      if (live && res.status !== 200) problems.push(`a live refresh token (${refresh.kind}) was refused (${res.status})`);
      if (dead && res.text !== INVALID_TOKEN_BODY) problems.push(`a refresh token that is not live (${refresh.kind}): ${res.status}, not the token 401`);
    }

    if (success && body.message === MESSAGES.passwordChanged) {
      state.userA.password = String(req.bodyObject!.newPassword);
      note('password changed');
    }

    // Which sessions did end: B's never; A's as allowed, and all that must.
    const rows = await rowsOf([...aIds, before.b]);
    const isEnded = (id: string) => rows.get(id)?.ended !== false;
    if (isEnded(before.b)) {
      problems.push("user B's session ended");
      await state.replaceB();
    }
    for (const index of [0, 1] as const) {
      const id = aIds[index]!;
      if (isEnded(id)) {
        if (!may.has(id)) problems.push(`A's session ${index} ended, and not by A's own action`);
        else note(`ended: ${may.get(id)}`);
        await state.replace(index);
      } else if (must.has(id)) {
        problems.push(`A's session ${index} is still live after ${may.get(id)}`);
      }
    }
    if (success && body.message === MESSAGES.passwordChanged) {
      const ended = aIds.filter(isEnded).length;
      if (((body.data as { revokedSessions: number }).revokedSessions ?? 0) < ended) problems.push('revokedSessions counts fewer sessions than ended');
    }
    if (success && body.message === MESSAGES.loggedOut && req.method === 'POST' && (req.bodyScope === 'others' || req.bodyScope === 'all')) {
      const ended = aIds.filter(isEnded).length;
      if (((body.data as { revokedSessions?: number } | undefined)?.revokedSessions ?? 0) < ended) problems.push('revokedSessions counts fewer sessions than ended');
    }

    // A refresh token rotates only by a 200 for it: the rows agree with the 200s seen.
    for (const [index, id] of [...aIds.entries(), [2, before.b] as const]) {
      const row = rows.get(id);
      const known = state.chains.get(id);
      if (!row || row.ended || !known || row.generation === known.tokens.length - 1) continue;
      problems.push(`session ${index < 2 ? `A${index}` : 'B'}: refresh_generation ${row.generation}, but ${known.tokens.length - 1} rotations were answered 200`);
      if (index === 2) await state.replaceB();
      else await state.replace(index as 0 | 1, false);
    }

    if (problems.length) throw new Error(`${problems.join('; ')}\n${describeExchange(req, res)}\n`);
  }

  const properties: Array<[name: string, share: number, arbitrary: fc.Arbitrary<RequestRecipe>]> = [
    ['any request to any route', 0.2, anyRequestArb],
    ['GET /me and POST /logout with real tokens and everything derived from them', 0.2, protectedRequestArb],
    ['POST /logout under a live bearer of A, with body tokens of every kind', 0.1, liveLogoutRequestArb],
    ['POST register and login with bodies of every kind', 0.1, credentialsRequestArb],
    ['POST /refresh with refresh tokens of every kind (live, retried, replayed, made up, of other sessions) and every JSON type', 0.2, refreshRequestArb],
    ['GET /sessions, DELETE /sessions/:id, POST /password and POST /logout with a scope', 0.2, sessionControlRequestArb],
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

  // Found by the fuzz: the router refuses a path parameter over 100 characters (Fastify's
  // maxParamLength) before the route runs, with 400 "La URL no es válida"; the contract gives a
  // malformed id the one 404.
  it('DELETE /sessions/:id with an id over 100 characters: the one 404 of a malformed id, and nothing ends', async () => {
    const answers = [];
    for (const id of ['x'.repeat(100), 'x'.repeat(101), `${state.a[1].sessionId}${'0'.repeat(70)}`]) {
      const res = await t.http().delete(`${ROUTES.sessions}/${id}`).set(bearer(state.a[0].token));
      answers.push({ length: id.length, status: res.status, body: res.text });
    }
    expect(answers).toEqual([100, 101, 106].map((length) => ({ length, status: 404, body: NOT_FOUND_BODY })));
    for (const session of state.a) await meRequest(t, session.token).expect(200);
  });

  it("leaves user B's session live, and A's tracked sessions usable, their refresh tokens too", async () => {
    const userB = originalB;
    expect(await revokedAt(t, userB.sessionId)).toBeNull();
    const me = await meRequest(t, userB.token).expect(200);
    expect(me.body.data).toEqual({ id: userB.userId, email: userB.email, sessionId: userB.sessionId });
    const current = [...state.a, ...(state.userB.sessionId === userB.sessionId ? [userB] : [])];
    for (const session of current) {
      await meRequest(t, session.token).expect(200);
      const res = await refreshRequest(t, state.chains.get(session.sessionId)!.tokens.at(-1)).expect(200);
      expect(res.body.data.sessionId).toBe(session.sessionId);
    }
  });
});
