import fc from 'fast-check';
import type {
  AuthRecipe,
  BodyRecipe,
  Forgery,
  Holder,
  Key,
  PathMutation,
  PathRecipe,
  RefreshForgery,
  RefreshMutation,
  RefreshRecipe,
  RequestIdRecipe,
  RequestRecipe,
  SessionIdRecipe,
  TokenMutation,
  TokenRecipe,
  ValueRecipe,
} from './recipes.js';
import { OTHER_PATHS, ROUTES } from './routes.js';

// The fast-check generators of request recipes, one per kind of request the fuzz sends.

export const holderArb = fc.constantFrom<Holder>('A0', 'A1', 'B');

export const tokenMutationArb: fc.Arbitrary<TokenMutation> = fc.oneof(
  fc.record({ flip: fc.constantFrom<0 | 1 | 2>(2, 1, 0), at: fc.nat(), to: fc.nat() }),
  fc.record({ truncate: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ append: fc.constantFrom('A', '.', '=', '==', '.x', '..', '~', '+', '/') }),
  fc.record({ dropPart: fc.constantFrom<0 | 1 | 2>(2, 1, 0) }),
);

export const forgeryArb = fc.constantFrom<Forgery>(
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

export const garbageTokenArb = fc.oneof(
  fc.constantFrom('null', 'undefined', '[object Object]', 'a.b.c', '..', '...', 'eyJ', 'Bearer', '0', '-', '='),
  fc.string({ unit: fc.constantFrom(...'ABCabc012-_.~+/='), minLength: 1, maxLength: 60 }),
);

/** `liveWeight` tunes how often a genuine live token comes out. */
export const tokenArb = (liveWeight: number): fc.Arbitrary<TokenRecipe> =>
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

export const refreshMutationArb: fc.Arbitrary<RefreshMutation> = fc.oneof(
  fc.record({ truncate: fc.integer({ min: 1, max: 69 }) }),
  fc.record({ append: fc.constantFrom('A', '=', '==', '.', '-', '_', ' ', '%00') }),
  fc.record({ flip: fc.nat(), to: fc.nat() }),
  fc.constant({ spareBits: true as const }),
);

export const refreshForgeryArb: fc.Arbitrary<RefreshForgery> = fc.oneof(
  fc.constant({ secret: true as const }),
  fc.record({ sessionOf: holderArb }),
  fc.record({ generation: fc.constantFrom<-1 | 1 | 2 | 2_147_483_648 | 4_294_967_295>(-1, 1, 2, 2_147_483_648, 4_294_967_295) }),
  fc.constant({ unknownSession: true as const }),
);

/** `liveWeight` tunes how often a tracked session's own token comes out (current, previous or older). */
export const refreshRecipeArb = (liveWeight: number): fc.Arbitrary<RefreshRecipe> =>
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

export const sessionIdArb: fc.Arbitrary<SessionIdRecipe> = fc.oneof(
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
export const scopeArb: fc.Arbitrary<fc.JsonValue | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<fc.JsonValue | undefined>('current', 'others', 'all') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<fc.JsonValue>('ALL', 'Others', '', ' all', 'all ', 'none', 'others,all', 'current\u0000', null, 0, 1, true, ['all'], { scope: 'all' }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

/** A new password: mostly valid, sometimes too short, too long, or not a string. */
export const newPasswordArb: fc.Arbitrary<fc.JsonValue> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 8, maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom<fc.JsonValue>('1234567', 'x'.repeat(128), 'x'.repeat(129), '', '        ', '\u0000'.repeat(8)) },
  { weight: 1, arbitrary: fc.constantFrom<fc.JsonValue>(null, 12345678, true, ['password-123'], { password: 'password-123' }) },
);

export const sessionsQueryArb = fc.constantFrom(
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
export const bodyTokenArb = (liveWeight: number): fc.Arbitrary<TokenRecipe | 'B'> =>
  fc.oneof({ weight: 5, arbitrary: tokenArb(liveWeight) }, { weight: 1, arbitrary: fc.constant('B' as const) });

export const authArb = (liveWeight: number): fc.Arbitrary<AuthRecipe> =>
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

export const pathMutationArb: fc.Arbitrary<PathMutation> = fc.oneof(
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

export const queryArb = fc.constantFrom(
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
  // Text that is not text: a NUL, other controls, invalid UTF-8, an encoded surrogate (400s).
  '?email=%00',
  '?cursor=a%00b',
  '?a=%0D%0ASet-Cookie:%20x=1',
  '?a=%C2%85',
  '?a=%C3%28',
  '?a=%ED%A0%80',
  '?%00=1',
);

export const pathArb = (bases: readonly string[], mutationOdds: number): fc.Arbitrary<PathRecipe> =>
  fc.record({
    base: fc.constantFrom(...bases),
    mutations: fc.oneof(
      { weight: mutationOdds, arbitrary: fc.constant<PathMutation[]>([]) },
      { weight: 1, arbitrary: fc.array(pathMutationArb, { minLength: 1, maxLength: 3 }) },
    ),
    query: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: queryArb }, { weight: 1, arbitrary: sessionsQueryArb }),
    id: sessionIdArb,
  });

export const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND', 'TRACE', 'FOO');

export const contentTypeArb = (jsonWeight: number) =>
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

export const requestIdArb: fc.Arbitrary<RequestIdRecipe> = fc.oneof(
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
export const trickyStringArb = fc.oneof(
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
    '"fuzz@example.com"@example.com',
    'fuzz(comment)@example.com',
    'fuzz%example.com@example.com',
    'example.com!fuzz@example.com',
    'fuzz@ex\u00e1mple.com',
    '\uff46uzz@example.com',
    'a@[127.0.0.1]',
    'a@localhost',
    'x'.repeat(128),
    'x'.repeat(129),
    '\u0000'.repeat(8),
    '😀'.repeat(64),
    '😀'.repeat(65),
  ),
);

export const literalArb = fc.constantFrom(
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

export const valueArb = (liveWeight: number): fc.Arbitrary<ValueRecipe> =>
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

export const keyArb = (fields: readonly string[]): fc.Arbitrary<Key> =>
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

export const rawTextArb = fc.oneof(
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
export const logoutBodyArb = (liveWeight: number): fc.Arbitrary<BodyRecipe> =>
  fc.record({ logout: fc.record({ token: fc.option(bodyTokenArb(liveWeight), { freq: 3 }) }) });

/** `{ scope }`, now and then with a body token as well (400 but with `current`). */
export const scopedBodyArb = (liveWeight: number): fc.Arbitrary<BodyRecipe> =>
  fc.record({
    scoped: fc.record({
      scope: scopeArb,
      token: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: bodyTokenArb(liveWeight) }),
    }),
  });

/** `{ refreshToken }`, once in a while `{}`. */
export const refreshBodyArb = (liveWeight: number): fc.Arbitrary<BodyRecipe> =>
  fc.record({ refreshBody: fc.record({ token: fc.option(refreshRecipeArb(liveWeight), { freq: 12 }) }) });

export const passwordBodyArb: fc.Arbitrary<BodyRecipe> = fc.record({
  changePassword: fc.record({
    current: fc.constantFrom<'right' | 'wrong' | 'right-upper' | 'too-long'>('right', 'right', 'wrong', 'right-upper', 'too-long'),
    next: newPasswordArb,
  }),
});

export const bodyArb = (fields: readonly string[], liveWeight: number): fc.Arbitrary<BodyRecipe> =>
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

export const ALL_BASES = [...Object.values(ROUTES), ...OTHER_PATHS];
export const ALL_FIELDS = [
  'email',
  'password',
  'token',
  'refreshToken',
  'scope',
  'currentPassword',
  'newPassword',
  // Second factors.
  'code',
  'recoveryCode',
  'mfaToken',
  'webauthn',
  'credential',
  'factorId',
  'name',
];

/** Anything, anywhere. */
export const anyRequestArb: fc.Arbitrary<RequestRecipe> = fc.record({
  method: methodArb,
  path: pathArb(ALL_BASES, 2),
  auth: authArb(4),
  contentType: contentTypeArb(3),
  requestId: requestIdArb,
  body: bodyArb(ALL_FIELDS, 3),
});

/** GET /me and POST /logout, mostly well aimed, with real tokens and everything derived from them. */
export const protectedRequestArb: fc.Arbitrary<RequestRecipe> = fc
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
export const liveLogoutRequestArb: fc.Arbitrary<RequestRecipe> = fc.record({
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
export const liveBearerArb: fc.Arbitrary<AuthRecipe> = fc.record({
  lead: fc.constant(''),
  scheme: fc.constantFrom('Bearer', 'Bearer', 'bearer'),
  sep: fc.constant(' '),
  token: fc.oneof(
    { weight: 6, arbitrary: fc.record({ live: fc.constantFrom<0 | 1>(0, 1) }) },
    { weight: 1, arbitrary: fc.record({ resigned: fc.constantFrom<0 | 1>(0, 1), pad: fc.constant(0) }) },
  ),
  trailer: fc.constant(''),
});

export const fewMutationsArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant<PathMutation[]>([]) },
  { weight: 1, arbitrary: fc.array(pathMutationArb, { minLength: 1, maxLength: 2 }) },
);

/** POST /refresh with refresh tokens of every kind (live, rotated, replayed, made up, an access token) and of every JSON type. */
export const refreshRequestArb: fc.Arbitrary<RequestRecipe> = fc.record({
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
export const sessionControlArb = (
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
export const sessionControlRequestArb: fc.Arbitrary<RequestRecipe> = fc.oneof(
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

/**
 * Recovery and verification: forgot, reset, verify and resend, with bodies of every kind and
 * any Authorization (resend wants A's bearer). No real link token is ever in the fuzz's hands.
 */
export const accountRequestArb: fc.Arbitrary<RequestRecipe> = fc.record({
  method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: methodArb }),
  path: pathArb([ROUTES.forgot, ROUTES.reset, ROUTES.verify, ROUTES.resend], 8),
  auth: fc.oneof({ weight: 2, arbitrary: fc.constant({ none: true as const }) }, { weight: 2, arbitrary: authArb(3) }),
  contentType: contentTypeArb(8),
  requestId: requestIdArb,
  body: bodyArb(['email', 'token', 'newPassword'], 2),
});

/**
 * DELETE /account: mostly under a live bearer of A with A's right password (it deletes A) or a
 * wrong one, sometimes anything at all.
 */
export const accountDeletionRequestArb: fc.Arbitrary<RequestRecipe> = fc.oneof(
  {
    weight: 3,
    arbitrary: sessionControlArb(
      fc.constant(['DELETE', ROUTES.account]),
      fc.constant(null),
      fc.oneof(
        { weight: 1, arbitrary: fc.constant<BodyRecipe>({ fields: [['password', { password: 'A' }]] }) },
        { weight: 1, arbitrary: fc.constant<BodyRecipe>({ fields: [['password', { password: 'B' }]] }) },
        { weight: 2, arbitrary: fc.record({ fields: fc.array(fc.tuple(keyArb(['password']), valueArb(2)), { minLength: 1, maxLength: 2 }) }) },
      ),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      method: fc.oneof({ weight: 6, arbitrary: fc.constant('DELETE') }, { weight: 1, arbitrary: methodArb }),
      path: pathArb([ROUTES.account], 8),
      auth: authArb(3),
      contentType: contentTypeArb(8),
      requestId: requestIdArb,
      body: bodyArb(['password'], 2),
    }),
  },
);

/** POST register and login, with bodies of every kind. */
export const credentialsRequestArb: fc.Arbitrary<RequestRecipe> = fc.record({
  method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: methodArb }),
  path: pathArb([ROUTES.register, ROUTES.login], 8),
  auth: fc.oneof({ weight: 4, arbitrary: fc.constant({ none: true as const }) }, { weight: 1, arbitrary: authArb(3) }),
  contentType: contentTypeArb(8),
  requestId: requestIdArb,
  body: bodyArb(['email', 'password'], 2),
});
