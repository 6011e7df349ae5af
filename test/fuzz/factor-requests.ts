import fc from 'fast-check';
import { MFA } from '../support/mfa-messages.js';
import { API } from '../support/requests.js';
import { contentTypeArb, forgeryArb, literalArb, pathMutationArb, rawTextArb, tokenMutationArb, trickyStringArb } from './generators.js';
import type { Forgery, Key, PathMutation, TokenMutation } from './recipes.js';
import { type CredentialRecipe, credentialArb } from './webauthn-garbage.js';

// Recipes and generators of requests to the routes of second factors ("Second factors bound to
// the session"): plain data, filled in with the codes, tokens and ids of the state when sent.

export const FACTOR = '{factor}';
export interface FactorRoute {
  method: string;
  path: string;
  /** Needs no bearer. */
  public?: boolean;
  /** The body's fields, as the contract names them. */
  fields: readonly string[];
  /** Step-up: a proof within STEP_UP_MAX_AGE; `factors`: only for a user with factors. */
  stepUp?: 'always' | 'factors';
  /** The success message of its 2xx. */
  success: string;
}

export const FACTOR_MESSAGES = { ...MFA, invalidMfaCode: MFA.invalidCode } as const;

export const FACTOR_ROUTES = {
  enrol: { method: 'POST', path: `${API}/mfa/totp`, fields: ['name'], stepUp: 'factors', success: FACTOR_MESSAGES.totpEnrolled },
  confirm: { method: 'POST', path: `${API}/mfa/totp/confirm`, fields: ['factorId', 'code'], success: FACTOR_MESSAGES.factorEnabled },
  factors: { method: 'GET', path: `${API}/mfa/factors`, fields: [], success: FACTOR_MESSAGES.factors },
  removeFactor: { method: 'DELETE', path: `${API}/mfa/factors/${FACTOR}`, fields: [], stepUp: 'always', success: FACTOR_MESSAGES.factorRemoved },
  recoveryCodes: { method: 'POST', path: `${API}/mfa/recovery-codes`, fields: [], stepUp: 'always', success: FACTOR_MESSAGES.recoveryCodesReplaced },
  loginMfa: { method: 'POST', path: `${API}/login/mfa`, public: true, fields: ['mfaToken', 'code', 'recoveryCode', 'webauthn'], success: 'Inicio de sesión exitoso' },
  stepUp: { method: 'POST', path: `${API}/step-up`, fields: ['code', 'recoveryCode', 'webauthn', 'password'], success: FACTOR_MESSAGES.steppedUp },
  passkeyRegisterOptions: {
    method: 'POST',
    path: `${API}/passkeys/register/options`,
    fields: [],
    stepUp: 'always',
    success: FACTOR_MESSAGES.passkeyOptions,
  },
  passkeyRegister: { method: 'POST', path: `${API}/passkeys/register`, fields: ['credential', 'name'], stepUp: 'always', success: FACTOR_MESSAGES.passkeyRegistered },
  passkeyStepUpOptions: { method: 'POST', path: `${API}/passkeys/step-up/options`, fields: [], success: FACTOR_MESSAGES.passkeyOptions },
  passkeyLoginOptions: { method: 'POST', path: `${API}/passkeys/login/options`, public: true, fields: [], success: FACTOR_MESSAGES.passkeyOptions },
  passkeyLogin: { method: 'POST', path: `${API}/passkeys/login`, public: true, fields: ['credential'], success: 'Inicio de sesión exitoso' },
} satisfies Record<string, FactorRoute>;
export type RouteName = keyof typeof FACTOR_ROUTES;
/** One route, as the type every route shares. */
export const routeOf = (name: RouteName): FactorRoute => FACTOR_ROUTES[name];

/**
 * A0 and A1: the two live sessions of A, a user with a TOTP factor and recovery codes; N: the
 * live session of N, a user without factors. B (a user with a factor) is never a bearer: its
 * factor id, codes and mfaTokens are only ever sent under someone else's name.
 */
export type Bearer =
  | 'A0'
  | 'A1'
  | 'N'
  | 'none'
  | { ended: true }
  | { mutate: 'A0' | 'N'; how: TokenMutation }
  | { forged: Forgery; of: 'A0' | 'N' }
  /** A live mfaToken of A, where an access token belongs. */
  | { mfaToken: true }
  | { garbage: string };
export type FactorTarget =
  | 'A-totp'
  | 'A-totp-upper'
  | 'A-pending'
  | 'B-totp'
  | 'N-pending'
  | 'A0-session'
  | { unknown: string }
  | { raw: string; encode: boolean };
/** A TOTP code: of A's factor (steps from now), of B's, of nobody, or a look-alike of A's. */
export type CodeRecipe =
  | { of: 'A' | 'B'; step: -1 | 0 | 1 | 5 | -20 }
  | { lookAlike: 'fullwidth' | 'arabic' | 'spaced' | 'padded' | 'newline' | 'number' | 'plus' | 'seven' | 'five' | 'nul' | 'float' }
  | { made: string };
export type RecoveryRecipe =
  | { unspent: 'A' | 'B'; spelling: 'as-is' | 'lower' | 'no-dashes' | 'spaces' | 'truncated' | 'nul' | 'doubled' | 'extra-symbol' }
  | { spent: 'A' }
  | { made: string };
export type MfaTokenRecipe =
  | { mfa: 'A' | 'B' }
  /** One already used for a login. */
  | { usedMfa: true }
  | { mutateMfa: TokenMutation }
  | { accessOf: 'A0' | 'N' }
  | { garbage: string }
  | { long: number };
/** What is wrong in an assertion by A's or B's real passkey (test/support/soft-authenticator.ts); `none`: nothing. */
export type PasskeyFlaw =
  | 'none'
  | 'signature'
  | 'counter-back'
  | 'origin'
  | 'rp-id'
  | 'challenge-made-up'
  | 'user-not-present'
  | 'user-not-verified'
  | 'user-handle-of-other'
  | 'no-user-handle';
export const PASSKEY_FLAWS: PasskeyFlaw[] = [
  'none',
  'signature',
  'counter-back',
  'origin',
  'rp-id',
  'challenge-made-up',
  'user-not-present',
  'user-not-verified',
  'user-handle-of-other',
  'no-user-handle',
];
export type FactorValue =
  | { passkeyOf: 'A' | 'B'; flaw: PasskeyFlaw }
  | { json: fc.JsonValue }
  | { literal: string }
  | { str: string }
  | { code: CodeRecipe }
  | { recovery: RecoveryRecipe }
  | { mfaToken: MfaTokenRecipe }
  | { factorId: FactorTarget }
  | { credential: CredentialRecipe }
  | { password: 'A' | 'N' | 'N-upper' | 'wrong' | 'long' }
  | { nested: number };
export type FactorBody =
  | { none: true }
  | { empty: true }
  | { text: string }
  | { deep: 'array' | 'object'; depth: number; field: string }
  | { huge: number }
  | { fields: Array<[Key, FactorValue]> };
export interface FactorRecipe {
  route: RouteName;
  /** Another method than the route's own, now and then. */
  method: string | null;
  mutations: PathMutation[];
  bearer: Bearer;
  /** The bearer's session last proved a factor an hour ago (else just now). */
  stale: boolean;
  contentType: string | null;
  target: FactorTarget;
  body: FactorBody;
}

// ---------------------------------------------------------------------------------------------

export const codeArb: fc.Arbitrary<CodeRecipe> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ of: fc.constantFrom<'A' | 'B'>('A', 'A', 'A', 'B'), step: fc.constantFrom<-1 | 0 | 1 | 5 | -20>(0, 0, 1, -1, 5, -20) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      lookAlike: fc.constantFrom<'fullwidth' | 'arabic' | 'spaced' | 'padded' | 'newline' | 'number' | 'plus' | 'seven' | 'five' | 'nul' | 'float'>(
        'fullwidth',
        'arabic',
        'spaced',
        'padded',
        'newline',
        'number',
        'plus',
        'seven',
        'five',
        'nul',
        'float',
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ made: fc.oneof(fc.stringMatching(/^\d{6}$/), fc.constantFrom('', '000000', '999999', '12345a', 'x'.repeat(10_000), '1'.repeat(64))) }) },
);

/** `withUnspentOfA`: whether a live recovery code of A may come out (never where it would end A's sessions). */
export const recoveryArb = (withUnspentOfA: boolean): fc.Arbitrary<RecoveryRecipe> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        unspent: withUnspentOfA ? fc.constantFrom<'A' | 'B'>('A', 'A', 'B') : fc.constant<'A' | 'B'>('B'),
        spelling: fc.constantFrom<'as-is' | 'lower' | 'no-dashes' | 'spaces' | 'truncated' | 'nul' | 'doubled' | 'extra-symbol'>(
          'as-is',
          'as-is',
          'lower',
          'no-dashes',
          'spaces',
          'truncated',
          'nul',
          'doubled',
          'extra-symbol',
        ),
      }),
    },
    { weight: 2, arbitrary: fc.constant({ spent: 'A' as const }) },
    { weight: 2, arbitrary: fc.record({ made: fc.oneof(fc.constantFrom('AAAA-AAAA-AAAA-AAAA', 'OOOO-IIII-0000-1111', '', '-', 'x'.repeat(9000)), trickyStringArb) }) },
  );

export const mfaTokenArb: fc.Arbitrary<MfaTokenRecipe> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ mfa: fc.constantFrom<'A' | 'B'>('A', 'A', 'A', 'B') }) },
  { weight: 1, arbitrary: fc.constant({ usedMfa: true as const }) },
  { weight: 3, arbitrary: fc.record({ mutateMfa: tokenMutationArb }) },
  { weight: 1, arbitrary: fc.record({ accessOf: fc.constantFrom<'A0' | 'N'>('A0', 'N') }) },
  { weight: 1, arbitrary: fc.record({ garbage: fc.oneof(fc.constantFrom('', 'null', 'a.b.c', '..', 'eyJ', '\u0000', '😀'), fc.string({ maxLength: 40 })) }) },
  { weight: 1, arbitrary: fc.record({ long: fc.integer({ min: 4000, max: 15_000 }) }) },
);

export const targetArb: fc.Arbitrary<FactorTarget> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<FactorTarget>('A-totp', 'A-totp', 'A-totp-upper', 'A-pending', 'B-totp', 'B-totp', 'N-pending', 'A0-session') },
  { weight: 1, arbitrary: fc.record({ unknown: fc.uuid() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      raw: fc.constantFrom(
        "' OR '1'='1",
        '00000000-0000-0000-0000-000000000000',
        '(SELECT id FROM mfa_factors LIMIT 1)',
        '$1',
        'null',
        'all',
        '*',
        '%',
        '-1',
        '__proto__',
        'constructor',
        '{}',
        'é',
        '😀',
        '\u0000',
        'x'.repeat(101),
        'x'.repeat(3000),
      ),
      encode: fc.boolean(),
    }),
  },
);

const tricky: fc.Arbitrary<FactorValue> = fc.oneof(
  fc.record({ json: fc.oneof(fc.constantFrom<fc.JsonValue>(null, 0, 123456, -1, 1.5, true, false, [], {}, ['123456'], { code: '123456' }), fc.jsonValue({ maxDepth: 2 })) }),
  fc.record({ literal: literalArb }),
  fc.record({ str: trickyStringArb }),
  fc.record({ nested: fc.integer({ min: 1, max: 300 }) }),
);

/** A value for one of the contract's fields: mostly of its kind, now and then anything. */
export const fieldValueArb = (field: string, route: RouteName, anyType = true): fc.Arbitrary<FactorValue> => {
  const own = ((): fc.Arbitrary<FactorValue> | undefined => {
    switch (field) {
      case 'code':
        return fc.record({ code: codeArb });
      case 'recoveryCode':
        // A live code of A at the login's second step would end A's sessions (recovery_code_used).
        return fc.record({ recovery: recoveryArb(route !== 'loginMfa') });
      case 'mfaToken':
        return fc.record({ mfaToken: mfaTokenArb });
      case 'factorId':
        return fc.record({ factorId: targetArb });
      case 'webauthn':
      case 'credential':
        if (route === 'passkeyRegister') return fc.record({ credential: credentialArb('attestation') });
        return fc.oneof(
          { weight: 3, arbitrary: fc.record({ credential: credentialArb('assertion') }) },
          { weight: 2, arbitrary: fc.record({ passkeyOf: fc.constantFrom<'A' | 'B'>('A', 'B'), flaw: fc.constantFrom(...PASSKEY_FLAWS) }) },
        );
      case 'password':
        return fc.record({ password: fc.constantFrom<'A' | 'N' | 'N-upper' | 'wrong' | 'long'>('N', 'N', 'A', 'N-upper', 'wrong', 'long') });
      case 'name':
        return fc.record({ str: fc.oneof(fc.constantFrom('Teléfono', 'x'.repeat(64), 'x'.repeat(65), '', ' ', '<script>', '\u0000'), trickyStringArb) });
      default:
        return undefined;
    }
  })();
  if (own && !anyType) return own;
  return own ? fc.oneof({ weight: 5, arbitrary: own }, { weight: 2, arbitrary: tricky }) : tricky;
};

const prototypeKeyArb: fc.Arbitrary<Key> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'userId', 'amr', 'factorType', '') },
  { weight: 1, arbitrary: fc.record({ rawKey: fc.constantFrom('"c\\u006fde"', '"mfa\\u0054oken"', '"\\ud800"', '"recovery\\u0043ode"', '"pass\\u0077ord"') }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

/** What each route takes, in the shape it takes it: required fields and exactly one proof, each of its own kind. */
const SHAPES: Record<RouteName, { required: string[]; oneOf?: string[]; optional?: string[] }> = {
  enrol: { required: [], optional: ['name'] },
  confirm: { required: ['factorId', 'code'] },
  factors: { required: [] },
  removeFactor: { required: [] },
  recoveryCodes: { required: [] },
  loginMfa: { required: ['mfaToken'], oneOf: ['code', 'recoveryCode', 'webauthn'] },
  stepUp: { required: [], oneOf: ['code', 'recoveryCode', 'webauthn', 'password'] },
  passkeyRegisterOptions: { required: [] },
  passkeyRegister: { required: ['credential'], optional: ['name'] },
  passkeyStepUpOptions: { required: [] },
  passkeyLoginOptions: { required: [] },
  passkeyLogin: { required: ['credential'] },
};

const ownValueArb = (field: string, route: RouteName): fc.Arbitrary<[Key, FactorValue]> =>
  fieldValueArb(field, route, false).map((v): [Key, FactorValue] => [field, v]);

/** A body in the route's shape, its values wrong (or right) only in their content. */
export const wellShapedArb = (route: RouteName): fc.Arbitrary<FactorBody> => {
  const { required, oneOf = [], optional = [] } = SHAPES[route];
  return fc
    .tuple(
      fc.tuple(...required.map((f) => ownValueArb(f, route))),
      oneOf.length ? fc.constantFrom(...oneOf).chain((f) => ownValueArb(f, route).map((e) => [e])) : fc.constant<Array<[Key, FactorValue]>>([]),
      fc.tuple(...optional.map((f) => fc.option(ownValueArb(f, route), { freq: 2 }))),
    )
    .map(([req, one, opt]) => ({ fields: [...req, ...one, ...opt.filter((e): e is [Key, FactorValue] => e !== null)] }));
};

/**
 * The body of one route: its fields (each present or not, of its kind or not), now and then a
 * field of another route, an extra key, a prototype key, a key spelled with escapes; and the
 * bodies of every route (none, empty, not JSON, nested, too large).
 */
export const factorBodyArb = (route: RouteName): fc.Arbitrary<FactorBody> => {
  const fields = routeOf(route).fields;
  const own = fc
    .tuple(
      fc.tuple(...fields.map((f) => fc.option(fieldValueArb(f, route).map((v): [Key, FactorValue] => [f, v]), { freq: 3 }))),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant<Array<[Key, FactorValue]>>([]) },
        {
          weight: 1,
          arbitrary: fc.array(
            fc.oneof(
              fc
                .constantFrom('code', 'recoveryCode', 'webauthn', 'password', 'mfaToken', 'credential', 'name', 'factorId')
                .chain((f) => fieldValueArb(f, route).map((v): [Key, FactorValue] => [f, v])),
              fc.tuple(prototypeKeyArb, tricky),
            ),
            { minLength: 1, maxLength: 2 },
          ),
        },
      ),
    )
    .map(([mine, more]) => ({ fields: [...mine.filter((e): e is [Key, FactorValue] => e !== null), ...more] }));
  return fc.oneof(
    { weight: fields.length ? 8 : 1, arbitrary: wellShapedArb(route) },
    { weight: fields.length ? 8 : 1, arbitrary: own },
    { weight: fields.length ? 1 : 4, arbitrary: fc.constant<FactorBody>({ none: true }) },
    { weight: 1, arbitrary: fc.constant<FactorBody>({ empty: true }) },
    { weight: 1, arbitrary: fc.record({ text: rawTextArb }) },
    {
      weight: 1,
      arbitrary: fc.record({
        deep: fc.constantFrom<'array' | 'object'>('array', 'object'),
        depth: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 100, max: 700 })),
        field: fc.constantFrom(...fields, 'other'),
      }),
    },
    { weight: 1, arbitrary: fc.record({ huge: fc.integer({ min: 16 * 1024 - 64, max: 40 * 1024 }) }) },
  );
};

export const bearerArb: fc.Arbitrary<Bearer> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom<Bearer>('A0', 'A0', 'A1', 'N', 'N') },
  { weight: 1, arbitrary: fc.constant<Bearer>('none') },
  { weight: 1, arbitrary: fc.constant<Bearer>({ ended: true }) },
  { weight: 1, arbitrary: fc.record({ mutate: fc.constantFrom<'A0' | 'N'>('A0', 'N'), how: tokenMutationArb }) },
  { weight: 1, arbitrary: fc.record({ forged: forgeryArb, of: fc.constantFrom<'A0' | 'N'>('A0', 'N') }) },
  { weight: 1, arbitrary: fc.constant<Bearer>({ mfaToken: true }) },
  { weight: 1, arbitrary: fc.record({ garbage: fc.constantFrom('', 'null', 'a.b.c', 'Bearer', '\u00e9') }) },
);

/** Requests to `routes`, mostly well aimed (method, path, JSON), with bearers and bodies of every kind. */
export const factorRequestArb = (routes: readonly RouteName[]): fc.Arbitrary<FactorRecipe> =>
  fc.constantFrom(...routes).chain((route) =>
    fc.record({
      route: fc.constant(route),
      // Methods Node's HTTP parser takes: the router, not the parser, answers them.
      method: fc.oneof({ weight: 14, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') }),
      mutations: fc.oneof({ weight: 14, arbitrary: fc.constant<PathMutation[]>([]) }, { weight: 1, arbitrary: fc.array(pathMutationArb, { minLength: 1, maxLength: 2 }) }),
      bearer: routeOf(route).public ? fc.oneof({ weight: 4, arbitrary: fc.constant<Bearer>('none') }, { weight: 1, arbitrary: bearerArb }) : bearerArb,
      stale: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      contentType: contentTypeArb(14),
      target: targetArb,
      body: factorBodyArb(route),
    }),
  );
