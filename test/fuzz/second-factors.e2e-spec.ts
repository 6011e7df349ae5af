import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasControl } from '../../src/http/url-text.js';
import { startApp, type TestApp } from '../support/app.js';
import { BAD_CREDENTIALS_BODY, envelope, EXPIRED_BODY, INVALID_TOKEN_BODY, MESSAGES, TOO_MANY_BODY } from '../support/messages.js';
import { API, bearer } from '../support/requests.js';
import { type Ceremony, SoftAuthenticator } from '../support/soft-authenticator.js';
import { enrolTotp, totpCode } from '../support/totp.js';
import { login, register } from '../support/users.js';
import {
  type Bearer,
  FACTOR,
  FACTOR_MESSAGES,
  type FactorBody,
  type FactorRecipe,
  factorRequestArb,
  type FactorTarget,
  type FactorValue,
  type MfaTokenRecipe,
  type PasskeyFlaw,
  type RouteName,
  routeOf,
} from './factor-requests.js';
import type { Request } from './materializer.js';
import { escapeUnsafe, mutatePath } from './materializer.js';
import { clip, decodes, depthOf, describeExchange, envelopeProblems, hasNul, NOT_FOUND_BODY, type Response, send } from './oracle.js';
import { forge, mutateToken } from './state.js';
import { credentialValue } from './webauthn-garbage.js';

/*
 * Property-based requests to the routes of second factors (contract: "Second factors bound to the
 * session"): TOTP enrolment and confirmation, the factor list and removal, recovery codes, the
 * login's second step, step-up, and passkeys. Bodies of every shape go to each route (wrong types,
 * huge strings, NUL bytes, nesting, arrays, prototype keys, unicode look-alikes of codes, numbers
 * for strings, extra and missing fields, malformed base64url and CBOR in WebAuthn credentials,
 * truncated, forged and foreign mfaTokens; assertions of A's and B's real passkeys, held by
 * test/support/soft-authenticator.ts, each with one flaw), under live, stale, ended and forged
 * bearers, and:
 *
 *   1. every answer is an envelope, never a 5xx, nothing internal or a library's English in it;
 *      a 400 is `Solicitud inválida` with Spanish `errors`; a 401 is one of the contract's bodies
 *      (the token 401 with `WWW-Authenticate: Bearer error="invalid_token"`, `Código de
 *      verificación inválido`, `Credenciales inválidas`, or `Se requiere autenticación reciente`
 *      with its `insufficient_user_authentication` challenge, on a step-up route only); a 404 is the
 *      one `Recurso no encontrado`;
 *   2. a 2xx only where the contract gives one: a live bearer (fresh where step-up applies), a
 *      canonical body, and for the proofs a right one (a TOTP code of a step not spent yet, an
 *      unspent recovery code, N's password, an assertion of the user's passkey) of the bearer's
 *      user, or with an mfaToken of that user; a passwordless login only by a genuine assertion;
 *   3. nothing is lost: A's, B's and N's sessions stay live; no confirmed factor appears or goes;
 *      a pending factor appears only by a 2xx enrolment, and goes only by a 2xx removal; recovery
 *      codes are spent only by a 2xx that used one, the TOTP step only by a 2xx that used a code;
 *      a session is raised (authenticated_at) only by a 2xx step-up of its own bearer; sessions are
 *      opened only by a 2xx login, for the user of its mfaToken or passkey; the audit rows of factor
 *      changes and recovery-code uses appear only with their 2xx (B's recovery-code login ends B's
 *      other sessions, as the contract says, and its session is tracked from then on); an mfaToken
 *      is spent only by its login and counts a wrong proof only by a 401 (a 400 or any other
 *      answer leaves it untouched).
 *
 * Controls keep it honest: the factor list answers 200 with the bearer's own factors; enrolment
 * answers its secret; a stale bearer on a step-up route gets the step-up 401; N's password steps
 * up; a recovery code of A steps up once; another user's factor, an unknown or a malformed id is
 * the one 404; a wrong code with a live mfaToken is `Código de verificación inválido`.
 *
 * A's factor is never removable here (a fresh bearer of A never aims DELETE at A's own factors):
 * removal ends A's other sessions, and A cannot log in again without a code of a new time step.
 * FUZZ_RUNS (default 300) scales the runs; FUZZ_SEED and FUZZ_PATH replay a failure.
 */

const decodedOrSelf = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

const TOTAL_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
if (!Number.isInteger(TOTAL_RUNS) || TOTAL_RUNS < 1) throw new Error(`FUZZ_RUNS must be a positive integer, not ${process.env.FUZZ_RUNS}`);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const REPLAY_PATH = process.env.FUZZ_PATH;

/** The routes fuzzed: every route of the section (a group whose routes are all left out is skipped). */
const LIVE_ROUTES: readonly RouteName[] = [
  'enrol',
  'confirm',
  'factors',
  'removeFactor',
  'recoveryCodes',
  'loginMfa',
  'stepUp',
  'passkeyRegisterOptions',
  'passkeyRegister',
  'passkeyStepUpOptions',
  'passkeyLoginOptions',
  'passkeyLogin',
];

const STEP_UP_MAX_AGE = 300;
const STEP_UP_BODY = envelope(FACTOR_MESSAGES.stepUpRequired);
/** RFC 6750 keeps error_description ASCII: the message without its accent. */
const STEP_UP_CHALLENGE = `Bearer error="insufficient_user_authentication", error_description="Se requiere autenticacion reciente", max_age=${STEP_UP_MAX_AGE}`;
const INVALID_CODE_BODY = envelope(FACTOR_MESSAGES.invalidMfaCode);
const ORIGIN = 'http://localhost:3000';
const LEAK = /QueryFailedError|\n\s+at \S|\(\S+:\d+:\d+\)|file:\/\/|FST_|node_modules|SELECT |INSERT |UPDATE |syntax error|Unexpected token|JSON at position|TypeError|RangeError|typeorm|postgres|pglite|fastify|simplewebauthn|Cannot (GET|POST|PUT|DELETE)/i;
/** class-validator's and the WebAuthn library's English, where only Spanish may be. */
const ENGLISH = /\b(must be|must not|should not|should be|an instance of|is not valid|expected|unexpected|failed to|is missing|unsupported|each value in|nested property|not a valid)\b/i;
/** Audit events only a 2xx of their own may write. */
const AUDITED = ['mfa_enabled', 'mfa_removed', 'mfa_reset', 'recovery_code_used', 'recovery_codes_replaced', 'step_up'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type UserName = 'A' | 'B' | 'N';
interface Session {
  token: string;
  sessionId: string;
}
interface FactorUser {
  userId: string;
  email: string;
  password: string;
  factorId?: string;
  secret?: string;
  unspent: string[];
  spent: string[];
}

/** Case, spaces and dashes do not count in a recovery code (as the server reads them). */
const normalized = (code: string) => code.toUpperCase().replace(/[\s-]/g, '');

/** What the oracle knows of a request as sent, beside its bytes. */
interface Sent extends Request {
  route: RouteName;
  /** Method and path exactly the route's, JSON or no Content-Type, a canonical body (or none). */
  exact: boolean;
  /** Exact, and its body is an object the body parser takes (no NUL, not too deep, no prototype keys). */
  clean: boolean;
  user?: UserName;
  sessionId?: string;
  stale: boolean;
  target?: { id: string; ownerIsBearer: boolean; pendingOf?: UserName };
  /** The live mfaToken made for this request, and whose. */
  mfaTokens: Map<string, UserName>;
  /** Assertions of A's or B's passkey that may pass on this route (see passable), as JSON, and whose. */
  genuine: Map<string, UserName>;
}

describe('fuzz: the routes of second factors', () => {
  let t: TestApp;
  let port: number;
  const users = {} as Record<UserName, FactorUser>;
  /** A0, A1 (both proved A's factor), B's one session (never a bearer), N's one session. */
  const sessions = {} as { A0: Session; A1: Session; B: Session; N: Session };
  const dead: string[] = [];
  let usedMfaToken = 'never-issued';
  /** A's and B's passkeys, in software authenticators. */
  const authenticators: Partial<Record<UserName, SoftAuthenticator>> = {};
  /** Pending factors made by 2xx enrolments, by user. */
  const pending: Record<UserName, string[]> = { A: [], B: [], N: [] };
  const statuses = new Map<string, number>();
  const events = new Map<string, number>();
  const note = (event: string) => events.set(event, (events.get(event) ?? 0) + 1);

  /** The passkey request options of a user's last login that asked for a second factor (single use). */
  const loginOptions: Partial<Record<UserName, { challenge: string }>> = {};
  const mintMfaToken = async (user: UserName): Promise<string | undefined> => {
    const res = await t.http().post(`${API}/login`).send({ email: users[user].email, password: users[user].password });
    loginOptions[user] = res.body.data?.webauthn;
    return res.status === 200 && res.body.data?.mfaRequired === true ? (res.body.data.mfaToken as string) : undefined;
  };

  beforeAll(async () => {
    // Generous limits: a 429 would hide what the request would otherwise have got.
    t = await startApp({ THROTTLE_LOGIN_LIMIT: '1000000', THROTTLE_LOGOUT_LIMIT: '1000000' });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;

    for (const name of ['A', 'B', 'N'] as const) {
      const { userId, email, password } = await register(t);
      users[name] = { userId, email, password, unspent: [], spent: [] };
    }
    // A logged-out session of A, for its token.
    const ended = await login(t, users.A.email, users.A.password);
    await t.http().post(`${API}/logout`).set(bearer(ended.token)).expect(200);
    dead.push(ended.token);

    for (const name of ['A', 'B'] as const) {
      const first = await login(t, users[name].email, users[name].password);
      const factor = await enrolTotp(t, first.token);
      Object.assign(users[name], { factorId: factor.factorId, secret: factor.secret, unspent: factor.recoveryCodes ?? [] });
      if (name === 'A') sessions.A0 = first;
      else sessions.B = first;
      // A passkey too, so that assertions of a real one, each with one flaw, reach the signature check.
      const options = await t.http().post(`${API}/passkeys/register/options`).set(bearer(first.token)).send({});
      if (options.status === 200) {
        const authenticator = new SoftAuthenticator();
        const { json } = authenticator.create(options.body.data);
        await t.http().post(`${API}/passkeys/register`).set(bearer(first.token)).send({ credential: json }).expect(200);
        // One passwordless login, ended at once, so that the counter the server keeps is past 0 (0 again is no regression).
        const passwordless = (await t.http().post(`${API}/passkeys/login/options`).send({}).expect(200)).body.data;
        const once = await t.http().post(`${API}/passkeys/login`).send({ credential: authenticator.get(passwordless) }).expect(200);
        await t.http().post(`${API}/logout`).set(bearer(once.body.data.accessToken)).expect(200);
        authenticators[name] = authenticator;
      }
    }
    sessions.N = await login(t, users.N.email, users.N.password);
    // A's second session: the login's second step with the current step's code (the previous one confirmed the factor).
    const mfaToken = await mintMfaToken('A');
    if (mfaToken) {
      const res = await t.http().post(`${API}/login/mfa`).send({ mfaToken, code: totpCode(users.A.secret!, 0) }).expect(200);
      sessions.A1 = { token: res.body.data.accessToken, sessionId: res.body.data.sessionId };
      usedMfaToken = mfaToken;
    } else {
      // Before the second step existed, login with a factor still answered tokens.
      sessions.A1 = await login(t, users.A.email, users.A.password);
    }
  });

  afterAll(async () => {
    console.log(`factor fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    console.log(`factor fuzz events: ${JSON.stringify(Object.fromEntries([...events].sort()))}`);
    await t?.close();
  });

  // ---------------------------------------------------------------------------------------------
  // From a recipe to the bytes of a request.

  const sessionOf = (b: 'A0' | 'A1' | 'N') => sessions[b];
  const userOfBearer = (b: 'A0' | 'A1' | 'N'): UserName => (b === 'N' ? 'N' : 'A');

  async function materialize(recipe: FactorRecipe): Promise<Sent> {
    const route = routeOf(recipe.route);
    // Freshness: every tracked session proved its factor just now (the stale bearer's: an hour ago, below).
    await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() WHERE id = ANY($1::uuid[])`, [ids()]);
    const mfaTokens = new Map<string, UserName>();
    const genuine = new Map<string, UserName>();
    const headers: Record<string, string> = {};
    let user: UserName | undefined;
    let sessionId: string | undefined;
    const b: Bearer = recipe.bearer;
    if (b === 'A0' || b === 'A1' || b === 'N') {
      headers.authorization = `Bearer ${sessionOf(b).token}`;
      user = userOfBearer(b);
      sessionId = sessionOf(b).sessionId;
    } else if (b === 'none') {
      // no header
    } else if ('ended' in b) headers.authorization = `Bearer ${dead[0]}`;
    else if ('mutate' in b) headers.authorization = `Bearer ${mutateToken(sessionOf(b.mutate).token, b.how)}`;
    else if ('forged' in b) {
      const of = { userId: users[userOfBearer(b.of)].userId, sessionId: sessionOf(b.of).sessionId };
      const other = { userId: users.B.userId, sessionId: sessions.B.sessionId };
      headers.authorization = `Bearer ${forge(b.forged, of, other)}`;
    } else if ('mfaToken' in b) headers.authorization = `Bearer ${(await mintMfaToken('A')) ?? 'no-mfa-token'}`;
    else headers.authorization = `Bearer ${b.garbage}`;
    if (headers.authorization !== undefined && user === undefined && [sessions.A0, sessions.A1, sessions.N].some((s) => headers.authorization === `Bearer ${s.token}`)) {
      throw new Error(`test bug: ${JSON.stringify(b)} gave a live token`);
    }

    // A fresh bearer of A never aims DELETE at A's own factors (see the header comment): stale then.
    const ownFactor = recipe.target === 'A-totp' || recipe.target === 'A-totp-upper' || recipe.target === 'A-pending';
    const stale = recipe.stale || (recipe.route === 'removeFactor' && user === 'A' && ownFactor);
    if (recipe.contentType !== null) headers['content-type'] = recipe.contentType;

    /** `id`: as a path segment; `raw`: as a body value. */
    const targetId = (target: FactorTarget): { id: string; raw?: string; pendingOf?: UserName; owner?: UserName } => {
      if (target === 'A-totp') return { id: users.A.factorId!, owner: 'A' };
      if (target === 'A-totp-upper') return { id: users.A.factorId!.toUpperCase(), owner: 'A' };
      if (target === 'B-totp') return { id: users.B.factorId!, owner: 'B' };
      if (target === 'A-pending' || target === 'N-pending') {
        const of = target === 'A-pending' ? 'A' : 'N';
        const id = pending[of].at(-1);
        return id ? { id, pendingOf: of, owner: of } : { id: '5b0f4a57-0000-4000-8000-000000000000' };
      }
      if (target === 'A0-session') return { id: sessions.A0.sessionId };
      if ('unknown' in target) return { id: target.unknown };
      return { id: target.encode ? encodeURIComponent(target.raw) : escapeUnsafe(target.raw), raw: target.raw };
    };
    const target = targetId(recipe.target);
    let path = route.path.replace(FACTOR, target.id);
    for (const m of recipe.mutations) path = mutatePath(path, m);
    const method = recipe.method ?? route.method;

    const challengeFor = async (): Promise<string> => {
      const fallback = Buffer.alloc(32, 3).toString('base64url');
      const res =
        recipe.route === 'passkeyRegister'
          ? await t.http().post(`${API}/passkeys/register/options`).set(bearer(sessions.A0.token)).send({})
          : await t.http().post(`${API}/passkeys/login/options`).send({});
      return findChallenge(res.body?.data) ?? fallback;
    };

    const value = async (v: FactorValue): Promise<string> => {
      if ('passkeyOf' in v) {
        const assertion = await assertionOf(v.passkeyOf, v.flaw, recipe.route);
        if (passable(v.flaw, recipe.route)) genuine.set(JSON.stringify(assertion), v.passkeyOf);
        return JSON.stringify(assertion);
      }
      if ('json' in v) return JSON.stringify(v.json);
      if ('literal' in v) return v.literal;
      if ('str' in v) return JSON.stringify(v.str);
      if ('nested' in v) return `${'['.repeat(v.nested)}${']'.repeat(v.nested)}`;
      if ('password' in v) {
        const p = { A: users.A.password, N: users.N.password, 'N-upper': users.N.password.toUpperCase(), wrong: `${users.N.password}!`, long: 'x'.repeat(129) }[v.password];
        return JSON.stringify(p);
      }
      if ('code' in v) {
        const c = v.code;
        const a = totpCode(users.A.secret!, 0);
        if ('of' in c) return JSON.stringify(totpCode(users[c.of].secret!, c.step));
        if ('made' in c) return JSON.stringify(c.made);
        switch (c.lookAlike) {
          case 'fullwidth':
            return JSON.stringify(a.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d))));
          case 'arabic':
            return JSON.stringify(a.replace(/\d/g, (d) => String.fromCharCode(0x0660 + Number(d))));
          case 'spaced':
            return JSON.stringify(` ${a.slice(0, 3)} ${a.slice(3)} `);
          case 'padded':
            return JSON.stringify(`0${a}`);
          case 'newline':
            return JSON.stringify(`${a}\n`);
          case 'number':
            return String(Number(a));
          case 'plus':
            return JSON.stringify(`+${a.slice(1)}`);
          case 'seven':
            return JSON.stringify(`${a}0`);
          case 'five':
            return JSON.stringify(a.slice(1));
          case 'nul':
            return JSON.stringify(`${a}\u0000`);
          case 'float':
            return `${Number(a)}.0`;
        }
      }
      if ('recovery' in v) {
        const r = v.recovery;
        if ('made' in r) return JSON.stringify(r.made);
        if ('spent' in r) return JSON.stringify(users.A.spent.at(-1) ?? 'ZZZZ-ZZZZ-ZZZZ-ZZZZ');
        const code = users[r.unspent].unspent.at(-1) ?? 'YYYY-YYYY-YYYY-YYYY';
        const spelled = {
          'as-is': code,
          lower: code.toLowerCase(),
          'no-dashes': code.replaceAll('-', ''),
          spaces: code.replaceAll('-', ' '),
          truncated: code.slice(0, -1),
          nul: `${code}\u0000`,
          doubled: `${code}${code}`,
          'extra-symbol': `${code}A`,
        }[r.spelling];
        return JSON.stringify(spelled);
      }
      if ('mfaToken' in v) return JSON.stringify(await mfaTokenValue(v.mfaToken, mfaTokens));
      if ('factorId' in v) {
        const { id, raw } = targetId(v.factorId);
        return JSON.stringify(raw ?? id);
      }
      return JSON.stringify(
        credentialValue(v.credential, {
          challenge: JSON.stringify(v.credential).includes('"server"') ? await challengeFor() : Buffer.alloc(32, 4).toString('base64url'),
          origin: ORIGIN,
        }),
      );
    };

    const body = async (b: FactorBody): Promise<string | undefined> => {
      if ('none' in b) return undefined;
      if ('empty' in b) return '';
      if ('text' in b) return b.text;
      if ('huge' in b) return JSON.stringify({ [route.fields[0] ?? 'code']: 'a'.repeat(b.huge) });
      if ('deep' in b) {
        const nested = b.deep === 'array' ? `${'['.repeat(b.depth)}${']'.repeat(b.depth)}` : `${'{"a":'.repeat(b.depth)}1${'}'.repeat(b.depth)}`;
        return `{${JSON.stringify(b.field)}:${nested}}`;
      }
      const parts: string[] = [];
      for (const [k, v] of b.fields) parts.push(`${typeof k === 'string' ? JSON.stringify(k) : k.rawKey}:${await value(v)}`);
      return `{${parts.join(',')}}`;
    };
    const text = await body(recipe.body);

    let parsed: unknown;
    try {
      parsed = text === undefined ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    const contentType = headers['content-type'];
    // An empty body under a JSON Content-Type is no body, to the server as to the contract.
    const noBody = text === undefined || text === '';
    const exact =
      method === route.method &&
      path === route.path.replace(FACTOR, target.id) &&
      (contentType === undefined ? text === undefined : /^application\/json(; charset=utf-8)?$/i.test(contentType)) &&
      (noBody || (object !== undefined && text === JSON.stringify(object)));
    const clean =
      exact &&
      (object === undefined ||
        (depthOf(object) <= 8 && !hasNul(object) && !/\\ud[89a-f][0-9a-f]{2}/i.test(text!) && !/__proto__|constructor|prototype/.test(text!) && text!.length < 16 * 1024));

    if (stale && sessionId) await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - interval '3600 seconds' WHERE id = $1`, [sessionId]);

    return {
      method,
      path,
      headers,
      body: text === undefined ? undefined : Buffer.from(text, 'utf8'),
      bearer: { live: user !== undefined, genuine: user !== undefined, wellFormed: user !== undefined, sessionId },
      bodyHasToken: false,
      bodyHasScope: false,
      bodyObject: object,
      route: recipe.route,
      exact,
      clean,
      user,
      sessionId,
      stale,
      target: recipe.route === 'removeFactor' ? { id: target.id, ownerIsBearer: target.owner !== undefined && target.owner === user, pendingOf: target.pendingOf } : undefined,
      mfaTokens,
      genuine,
    };
  }

  /**
   * An assertion by `user`'s passkey with `flaw` in it (a made-up one when there is none), to the
   * options of the route: at the second step, those of the login that made the mfaToken just
   * before (if it was this user's); at step-up, step-up options of A; else a passwordless login's.
   */
  async function assertionOf(user: 'A' | 'B', flaw: PasskeyFlaw, route: RouteName): Promise<Record<string, unknown>> {
    const authenticator = authenticators[user];
    if (!authenticator) return { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: {}, clientExtensionResults: {} };
    const fresh = async () =>
      route === 'stepUp' && user === 'A'
        ? (await t.http().post(`${API}/passkeys/step-up/options`).set(bearer(sessions.A0.token)).send({})).body.data
        : (await t.http().post(`${API}/passkeys/login/options`).send({})).body.data;
    const options = (route === 'loginMfa' && loginOptions[user]) || (await fresh());
    loginOptions[user] = undefined;
    const passkey = authenticator.passkeys[0]!;
    const counter = passkey.counter;
    // What the server holds (a refused assertion moves nothing): the same again is a counter gone back.
    const [{ stored }] = await t.dataSource.query(`SELECT sign_count::int AS stored FROM mfa_factors WHERE user_id = $1 AND type = 'webauthn'`, [users[user].userId]);
    const c: Ceremony = {
      none: {},
      signature: {},
      'counter-back': { counter: stored },
      origin: { origin: 'https://evil.example' },
      'rp-id': { rpId: 'evil.example' },
      'challenge-made-up': { challenge: Buffer.alloc(32, 5).toString('base64url') },
      'user-not-present': { up: false },
      'user-not-verified': { uv: false },
      'user-handle-of-other': {},
      'no-user-handle': { noUserHandle: true },
    }[flaw];
    const assertion = authenticator.get(options, c) as { response: Record<string, string> } & Record<string, unknown>;
    // Only an assertion the server could accept moves the counter the server keeps.
    if (!passable(flaw, route)) passkey.counter = counter;
    if (flaw === 'signature') {
      const sig = Buffer.from(assertion.response.signature!, 'base64url');
      sig[sig.length - 1]! ^= 1;
      assertion.response.signature = sig.toString('base64url');
    }
    if (flaw === 'user-handle-of-other') assertion.response.userHandle = Buffer.from(users[user === 'A' ? 'B' : 'A'].userId).toString('base64url');
    return assertion;
  }

  async function mfaTokenValue(r: MfaTokenRecipe, minted: Map<string, UserName>): Promise<string> {
    if ('mfa' in r) {
      const token = await mintMfaToken(r.mfa);
      if (token === undefined) return 'no-mfa-token';
      minted.set(token, r.mfa);
      return token;
    }
    if ('usedMfa' in r) return usedMfaToken;
    if ('mutateMfa' in r) {
      const token = await mintMfaToken('A');
      return token === undefined ? 'no-mfa-token' : mutateAny(token, r.mutateMfa);
    }
    if ('accessOf' in r) return sessionOf(r.accessOf).token;
    if ('garbage' in r) return r.garbage;
    return 'a'.repeat(r.long);
  }

  // ---------------------------------------------------------------------------------------------
  // What the rows say, before and after.

  interface Rows {
    live: Set<string>;
    liveCount: Record<UserName, number>;
    confirmed: Record<UserName, string[]>;
    pendingIds: Record<UserName, string[]>;
    unspent: Record<UserName, number>;
    lastStep: Record<UserName, string | null>;
    proved: Map<string, { at: number; amr: string }>;
    /** Audit rows of factor changes and recovery-code uses, by event. */
    audits: Record<string, number>;
  }
  const ids = () => [sessions.A0, sessions.A1, sessions.B, sessions.N].map((s) => s.sessionId);
  async function rows(): Promise<Rows> {
    const byUser = <T,>(f: (u: UserName) => T) => ({ A: f('A'), B: f('B'), N: f('N') });
    const userIds = (['A', 'B', 'N'] as const).map((u) => users[u].userId);
    const nameOf = (id: string) => (['A', 'B', 'N'] as const).find((u) => users[u].userId === id)!;
    const s: Array<{ id: string; user_id: string; live: boolean; at: Date; amr: string[] }> = await t.dataSource.query(
      `SELECT id, user_id, revoked_at IS NULL AND expires_at > now() AS live, authenticated_at AS at, amr FROM sessions WHERE user_id = ANY($1::uuid[])`,
      [userIds],
    );
    const f: Array<{ id: string; user_id: string; confirmed: boolean; step: string | null }> = await t.dataSource.query(
      `SELECT id, user_id, confirmed_at IS NOT NULL AS confirmed, totp_last_step::text AS step FROM mfa_factors WHERE user_id = ANY($1::uuid[]) ORDER BY id`,
      [userIds],
    );
    const c: Array<{ user_id: string; n: string }> = await t.dataSource.query(
      `SELECT user_id, count(*) AS n FROM mfa_recovery_codes WHERE used_at IS NULL AND user_id = ANY($1::uuid[]) GROUP BY user_id`,
      [userIds],
    );
    const tracked = new Set(ids());
    const a: Array<{ event: string; n: string }> = await t.dataSource.query(
      `SELECT event, count(*) AS n FROM audit_events WHERE user_id = ANY($1::uuid[]) AND event = ANY($2::text[]) GROUP BY event`,
      [userIds, AUDITED],
    );
    return {
      audits: Object.fromEntries(AUDITED.map((e) => [e, Number(a.find((r) => r.event === e)?.n ?? 0)])),
      live: new Set(s.filter((r) => r.live).map((r) => r.id)),
      liveCount: byUser((u) => s.filter((r) => r.live && nameOf(r.user_id) === u).length),
      confirmed: byUser((u) => f.filter((r) => r.confirmed && nameOf(r.user_id) === u).map((r) => r.id)),
      pendingIds: byUser((u) => f.filter((r) => !r.confirmed && nameOf(r.user_id) === u).map((r) => r.id)),
      unspent: byUser((u) => Number(c.find((r) => nameOf(r.user_id) === u)?.n ?? 0)),
      lastStep: byUser((u) => f.find((r) => r.confirmed && r.id === users[u].factorId)?.step ?? null),
      proved: new Map(s.filter((r) => tracked.has(r.id)).map((r) => [r.id, { at: new Date(r.at).getTime(), amr: JSON.stringify(r.amr) }])),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The oracle.

  /** The TOTP step a code is right for (user's factor, one step either way of the request's time), if any. */
  const stepOf = (user: UserName, code: unknown, sent: number, received: number): number | undefined => {
    const secret = users[user].secret;
    if (typeof code !== 'string' || !secret) return undefined;
    for (const at of [sent, received]) {
      for (const offset of [-1, 0, 1]) {
        if (totpCode(secret, offset, at) === code) return Math.floor(at / 30_000) + offset;
      }
    }
    return undefined;
  };
  const unspentOf = (user: UserName, code: unknown) =>
    typeof code === 'string' ? users[user].unspent.find((c) => normalized(c) === normalized(code)) : undefined;

  async function exchange(recipe: FactorRecipe): Promise<void> {
    const req = await materialize(recipe);
    const before = await rows();
    const sent = Date.now();
    const res = await send(port, req).catch((err: Error) => err);
    const received = Date.now();
    const after = await rows();
    if (res instanceof Error) throw new Error(`no answer\n${describeExchange(req, res)}`);
    const tally = `${req.route}${req.exact ? '' : ' (not exact)'} ${res.status}`;
    statuses.set(tally, (statuses.get(tally) ?? 0) + 1);
    const problems: string[] = [];
    const route = routeOf(req.route);
    const body = req.method === 'HEAD' ? undefined : envelopeOf(res, problems);
    const ok = res.status >= 200 && res.status < 300;
    const message = body?.message;
    const obj = req.bodyObject ?? {};
    const counted = Object.keys(obj);
    const keys = counted.sort().join();

    // 1. The answer on its own.
    if (res.status >= 500) problems.push(`status ${res.status}`);
    if (LEAK.test(res.text)) problems.push('something internal or a library in the body');
    if (res.headers['x-content-type-options'] !== 'nosniff') problems.push('no X-Content-Type-Options: nosniff');
    if (!res.headers['x-request-id']) problems.push('no X-Request-Id');
    if (req.path.startsWith(`${API}/`) && res.headers['cache-control'] !== 'no-store') problems.push('no Cache-Control: no-store');
    const www = res.headers['www-authenticate'];
    // HEAD: the status alone.
    if (req.method !== 'HEAD') {
      if (res.status === 400) {
        if (message !== MESSAGES.invalidRequest) problems.push(`a 400 with message ${clip(String(message))}`);
        const errors = body?.errors;
        if (!Array.isArray(errors) || errors.length === 0) problems.push('a 400 without errors');
        else if (errors.some((e) => typeof e !== 'string' || ENGLISH.test(e))) problems.push(`a 400 with errors not in the API's words: ${clip(JSON.stringify(errors))}`);
      }
      if (res.status === 401) {
        if (res.text === INVALID_TOKEN_BODY) {
          if (www !== 'Bearer error="invalid_token"') problems.push('the token 401 without its WWW-Authenticate');
          if (req.user && !route.public && req.exact) problems.push('a live bearer was refused as a token');
        } else if (res.text === STEP_UP_BODY) {
          if (www !== STEP_UP_CHALLENGE) problems.push(`the step-up 401 with WWW-Authenticate ${clip(String(www))}`);
          if (!route.stepUp) problems.push('the step-up 401 on a route without step-up');
          else if (req.user === undefined) problems.push('the step-up 401 without a live bearer');
          else if (!req.stale) problems.push('the step-up 401 for a session that proved a factor just now');
          else if (route.stepUp === 'factors' && req.user === 'N') problems.push('the step-up 401 for a user without factors on a route that asks only users with factors');
        } else if (res.text === INVALID_CODE_BODY || res.text === BAD_CREDENTIALS_BODY) {
          if (www !== undefined) problems.push(`a ${message} 401 with WWW-Authenticate ${clip(String(www))}`);
          if (req.route !== 'loginMfa' && req.route !== 'stepUp' && req.route !== 'confirm' && !req.route.startsWith('passkey')) {
            problems.push(`${message} from a route that takes no proof`);
          }
        } else problems.push('a 401 that is none of the contract\'s');
      }
      if (res.status === 403 && res.text !== EXPIRED_BODY) problems.push('a 403 other than the expired token');
      if (res.status === 404 && res.text !== NOT_FOUND_BODY) problems.push('a 404 other than the one 404');
      if ((res.status === 413 || res.status === 431) && message !== MESSAGES.tooLarge) problems.push(`a ${res.status} other than Solicitud demasiado grande`);
      if (res.status === 429 && (res.text !== TOO_MANY_BODY || !res.headers['retry-after'])) problems.push('a 429 without its body or Retry-After');
    }
    if (res.status >= 400 && res.status < 500 && ![400, 401, 403, 404, 413, 429, 431].includes(res.status)) problems.push(`a ${res.status}, not a status of the contract`);

    // 2. A 2xx only where the contract gives one.
    const fresh = req.user !== undefined && !req.stale;
    const proofKeys = ['code', 'recoveryCode', 'webauthn', 'password'].filter((k) => Object.hasOwn(obj, k));
    const rightCode = (u: UserName) => {
      const step = stepOf(u, obj.code, sent, received);
      return step !== undefined && (before.lastStep[u] === null || step > Number(before.lastStep[u])) ? step : undefined;
    };
    let spent: { user: UserName; code: string } | undefined;
    let stepped: { user: UserName; step: number } | undefined;
    let opened: UserName | undefined;
    if (ok) {
      if (req.method !== 'HEAD' && message !== route.success) problems.push(`a 2xx with message ${clip(String(message))}`);
      const allowed = ((): boolean => {
        // Any spelling of the path the router takes; JSON (any charset) or no body.
        if (!(req.method === route.method || (req.method === 'HEAD' && route.method === 'GET'))) return false;
        // A body goes unread on GET; elsewhere only JSON is read.
        if (route.method !== 'GET' && req.body?.length && !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return false;
        switch (req.route) {
          case 'passkeyLoginOptions':
            return true;
          case 'factors':
            return req.user !== undefined;
          case 'enrol': {
            const named = keys === 'name' && typeof obj.name === 'string' && obj.name.length >= 1 && obj.name.length <= 64;
            return req.user !== undefined && (fresh || req.user === 'N') && (keys === '' || named);
          }
          case 'recoveryCodes':
          case 'passkeyRegisterOptions':
            return fresh;
          case 'passkeyStepUpOptions':
            return req.user !== undefined;
          case 'removeFactor':
            return fresh && req.target?.ownerIsBearer === true;
          case 'stepUp': {
            if (req.user === undefined || proofKeys.length !== 1 || keys !== proofKeys[0]) return false;
            const u = req.user;
            if (keys === 'password') return u === 'N' && obj.password === users.N.password;
            if (keys === 'code' && u === 'A') {
              const step = rightCode('A');
              if (step !== undefined) stepped = { user: 'A', step };
              return step !== undefined;
            }
            if (keys === 'recoveryCode' && u === 'A') {
              const code = unspentOf('A', obj.recoveryCode);
              if (code) spent = { user: 'A', code };
              return code !== undefined;
            }
            return keys === 'webauthn' && req.genuine.get(JSON.stringify(obj.webauthn)) === u;
          }
          case 'passkeyLogin':
            opened = req.genuine.get(JSON.stringify(obj.credential));
            return keys === 'credential' && opened !== undefined;
          case 'loginMfa': {
            const of = typeof obj.mfaToken === 'string' ? req.mfaTokens.get(obj.mfaToken) : undefined;
            if (of === undefined || proofKeys.length !== 1 || keys !== [proofKeys[0], 'mfaToken'].sort().join()) return false;
            opened = of;
            if (proofKeys[0] === 'code') {
              const step = rightCode(of);
              if (step !== undefined) stepped = { user: of, step };
              return step !== undefined;
            }
            if (proofKeys[0] === 'webauthn') return req.genuine.get(JSON.stringify(obj.webauthn)) === of;
            if (proofKeys[0] === 'recoveryCode') {
              const code = unspentOf(of, obj.recoveryCode);
              if (code) spent = { user: of, code };
              // A's unspent codes are never sent here (they would end A's tracked sessions).
              return code !== undefined && of === 'B';
            }
            return false;
          }
          default:
            return false;
        }
      })();
      if (!allowed) problems.push('a 2xx the contract does not give to this request');
      else note(`${req.route}: 2xx`);
      if (req.route === 'factors' && allowed && req.method !== 'HEAD') {
        const listed = (body?.data as { factors?: Array<Record<string, unknown>> } | undefined)?.factors;
        if (!Array.isArray(listed)) problems.push('the factor list without data.factors');
        else {
          const mine = after.confirmed[req.user!];
          if (JSON.stringify(listed.map((f) => f.id).sort()) !== JSON.stringify([...mine].sort())) problems.push('the factor list is not the user\'s confirmed factors');
          for (const f of listed) {
            if (Object.keys(f).sort().join() !== 'createdAt,id,lastUsedAt,name,type') problems.push(`a listed factor with keys ${Object.keys(f).sort().join()}`);
            if (f.type !== 'totp' && f.type !== 'webauthn') problems.push(`a listed factor of type ${String(f.type)}`);
          }
          if (res.text.includes(users.A.secret!) || res.text.includes(users.B.secret!)) problems.push('a TOTP secret in the factor list');
        }
      }
      if (req.route === 'enrol' && allowed) {
        const data = body?.data as { factorId?: unknown; secret?: unknown; uri?: unknown } | undefined;
        if (typeof data?.factorId !== 'string' || !UUID.test(data.factorId) || typeof data.secret !== 'string' || typeof data.uri !== 'string' || !data.uri.startsWith('otpauth://totp/')) {
          problems.push('an enrolment without factorId, secret and an otpauth://totp/ uri');
        } else pending[req.user!].push(data.factorId);
      }
      if (req.route === 'recoveryCodes' && allowed) {
        const codes = (body?.data as { recoveryCodes?: unknown } | undefined)?.recoveryCodes;
        if (!Array.isArray(codes) || codes.length !== 10) problems.push('new recovery codes without data.recoveryCodes (10)');
        else {
          users[req.user!].spent.push(...users[req.user!].unspent);
          users[req.user!].unspent = codes as string[];
        }
      }
    }

    // Controls: plain requests on the exact route get what the contract says.
    const plain = req.exact && req.clean && req.user !== undefined;
    const stepUpApplies = route.stepUp === 'always' || (route.stepUp === 'factors' && req.user === 'A');
    // An id over 100 characters (the router's maxParamLength), or holding a control character (the URL
    // check), is refused before any guard: the one 404.
    const routed = req.target === undefined || (req.target.id.length <= 100 && !hasControl(req.target.id) && !hasControl(decodedOrSelf(req.target.id)));
    if (plain && routed && req.stale && stepUpApplies && (res.status !== 401 || res.text !== STEP_UP_BODY)) {
      problems.push(`a stale session on a step-up route: ${res.status}, not the step-up 401`);
    }
    if (plain && !req.stale && !req.body?.length) {
      if (req.route === 'factors' && res.status !== 200) problems.push(`the factor list was refused (${res.status})`);
      if (req.route === 'enrol' && res.status !== 200) problems.push(`an enrolment was refused (${res.status})`);
      if (req.route === 'removeFactor' && !req.target!.ownerIsBearer && decodes(req.path) && res.text !== NOT_FOUND_BODY) {
        problems.push(`DELETE of a factor that is not the bearer's: ${res.status}, not the one 404`);
      }
    }
    if (plain && req.route === 'stepUp' && keys === 'password' && req.user === 'N' && obj.password === users.N.password && res.status !== 200) {
      problems.push(`N's right password did not step up (${res.status})`);
    }
    if (plain && req.route === 'stepUp' && keys === 'recoveryCode' && req.user === 'A' && obj.recoveryCode === users.A.unspent.at(-1) && res.status !== 200) {
      problems.push(`an unspent recovery code of A did not step up (${res.status})`);
    }
    if (req.exact && req.clean && req.route === 'loginMfa' && keys === 'code,mfaToken' && typeof obj.mfaToken === 'string' && req.mfaTokens.get(obj.mfaToken) === 'A') {
      if (typeof obj.code === 'string' && /^\d{6}$/.test(obj.code) && stepOf('A', obj.code, sent, received) === undefined && stepOf('A', obj.code, sent - 60_000, received + 60_000) === undefined && res.text !== INVALID_CODE_BODY) {
        problems.push(`a wrong code with a live mfaToken: ${res.status}, not Código de verificación inválido`);
      }
    }
    if (req.exact && req.route === 'passkeyLoginOptions' && !req.body?.length && req.headers.authorization === undefined && res.status !== 200) {
      problems.push(`passkey login options were refused (${res.status})`);
    }

    // 3. Nothing lost. A recovery code of B's at the second step logs B in and ends B's other sessions (recovery_code_used).
    const recoveredB = ok && req.route === 'loginMfa' && spent?.user === 'B';
    for (const [name, s] of Object.entries(sessions)) {
      const ends = recoveredB && name === 'B';
      if (!after.live.has(s.sessionId) && !ends) problems.push(`session ${name} ended`);
      if (after.live.has(s.sessionId) && ends) problems.push("B's other session is still live after a login with a recovery code");
    }
    for (const u of ['A', 'B', 'N'] as const) {
      if (JSON.stringify(after.confirmed[u]) !== JSON.stringify(before.confirmed[u])) problems.push(`the confirmed factors of ${u} changed`);
      const appeared = after.pendingIds[u].filter((id) => !before.pendingIds[u].includes(id));
      const gone = before.pendingIds[u].filter((id) => !after.pendingIds[u].includes(id));
      const enrolled = ok && req.route === 'enrol' && req.user === u ? 1 : 0;
      if (appeared.length > enrolled) problems.push(`a pending factor of ${u} appeared`);
      const removed = ok && req.route === 'removeFactor' && req.user === u ? 1 : 0;
      if (gone.length > removed) problems.push(`a pending factor of ${u} went`);
      if (gone.length) pending[u] = pending[u].filter((id) => !gone.includes(id));
      const replaced = ok && req.route === 'recoveryCodes' && req.user === u;
      const expected = replaced ? 10 : before.unspent[u] - (spent?.user === u ? 1 : 0);
      if (after.unspent[u] !== expected) problems.push(`${u} has ${after.unspent[u]} unspent recovery codes, not ${expected}`);
      const expectedStep = stepped?.user === u ? String(stepped.step) : before.lastStep[u];
      if (after.lastStep[u] !== expectedStep) problems.push(`the TOTP step of ${u} is ${after.lastStep[u]}, not ${expectedStep}`);
      const expectedCount = recoveredB && u === 'B' ? 1 : before.liveCount[u] + (ok && opened === u ? 1 : 0);
      if (after.liveCount[u] !== expectedCount) problems.push(`${u} has ${after.liveCount[u]} live sessions, not ${expectedCount}`);
    }
    // An mfaToken is spent by its 2xx, counts a wrong proof by its 401; any other answer leaves it as it was.
    for (const token of req.mfaTokens.keys()) {
      const [challenge] = await t.dataSource.query('SELECT attempts FROM mfa_challenges WHERE secret_hash = $1', [createHash('sha256').update(token).digest()]);
      if (ok && req.route === 'loginMfa' && obj.mfaToken === token && challenge) problems.push('an mfaToken still live after its login');
      const judged = (ok || res.status === 401) && req.route === 'loginMfa' && obj.mfaToken === token;
      if (!judged && (!challenge || challenge.attempts !== 0)) problems.push(`an mfaToken ${challenge ? `counted ${challenge.attempts} wrong proofs` : 'gone'} after a ${res.status}`);
    }

    // Audit rows: a factor change or a recovery code's use only by its 2xx, and then recorded.
    const allowedAudits = new Set<string>();
    if (ok && req.route === 'recoveryCodes') allowedAudits.add('recovery_codes_replaced');
    if (ok && req.route === 'stepUp') allowedAudits.add('step_up');
    if (ok && spent) allowedAudits.add('recovery_code_used');
    for (const event of AUDITED) {
      const added = after.audits[event]! - before.audits[event]!;
      if (added > 0 && !allowedAudits.has(event)) problems.push(`${added} ${event} audit row(s) without a 2xx that does it`);
    }
    // Step-up records the code's use in its own step_up row (details.method), a login in recovery_code_used.
    const used = (r: Rows) => r.audits.recovery_code_used! + (req.route === 'stepUp' ? r.audits.step_up! : 0);
    if (ok && spent && used(after) <= used(before)) problems.push('a recovery code used without its audit row');
    if (ok && req.route === 'recoveryCodes' && after.audits.recovery_codes_replaced! <= before.audits.recovery_codes_replaced!) {
      problems.push('recovery codes replaced without their audit row');
    }
    if (spent) {
      users[spent.user].unspent = users[spent.user].unspent.filter((c) => c !== spent!.code);
      users[spent.user].spent.push(spent.code);
      note('recovery code spent');
    }
    for (const id of ids()) {
      const [was, now] = [before.proved.get(id), after.proved.get(id)];
      const raised = ok && req.route === 'stepUp' && req.sessionId === id;
      if (!raised && JSON.stringify(was) !== JSON.stringify(now)) problems.push(`session ${id} was raised (authenticated_at or amr) by a request that is not its 2xx step-up`);
      if (raised && now!.at < was!.at) problems.push('a step-up moved authenticated_at back');
    }
    if (ok && opened && (req.route === 'loginMfa' || req.route === 'passkeyLogin')) {
      const data = body?.data as { sessionId?: unknown; accessToken?: unknown } | undefined;
      const [row] = await t.dataSource.query('SELECT user_id, amr FROM sessions WHERE id = $1', [data?.sessionId]);
      if (row?.user_id !== users[opened].userId) problems.push("a login opened a session of another user than its proof's");
      if (req.route === 'passkeyLogin' && JSON.stringify(row?.amr) !== '["hwk","user"]') problems.push(`a passkey login's session with amr ${JSON.stringify(row?.amr)}`);
      else if (recoveredB) {
        sessions.B = { token: String(data!.accessToken), sessionId: String(data!.sessionId) };
        note('B logged in with a recovery code');
      } else await t.dataSource.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', [data!.sessionId]); // untracked: ended, so the live counts stay known
    }

    if (problems.length) throw new Error(`${problems.join('; ')}\n${describeExchange(req, res)}\n`);
  }

  async function checkTrackedSessionsLive(): Promise<void> {
    for (const [name, s] of Object.entries(sessions)) {
      const res = await t.http().get(`${API}/me`).set(bearer(s.token));
      expect(res.status, `session ${name}`).toBe(200);
    }
  }

  const groups: Array<[name: string, share: number, routes: RouteName[]]> = [
    ['TOTP enrolment and confirmation, the factor list and removal, recovery codes', 0.2, ['enrol', 'confirm', 'factors', 'removeFactor', 'recoveryCodes']],
    ["the login's second step with mfaTokens and proofs of every kind", 0.2, ['loginMfa']],
    ['step-up with codes, recovery codes, passwords and assertions of every kind', 0.15, ['stepUp']],
    [
      'passkeys: options, registration and login with malformed credentials',
      0.15,
      ['passkeyRegisterOptions', 'passkeyRegister', 'passkeyStepUpOptions', 'passkeyLoginOptions', 'passkeyLogin'],
    ],
  ];
  for (const [name, share, routes] of groups) {
    const live = routes.filter((r) => LIVE_ROUTES.includes(r));
    if (!live.length) continue;
    const numRuns = Math.max(1, Math.round(TOTAL_RUNS * share));
    it(`${name} (${numRuns} runs)`, async () => {
      const details = await fc.check(fc.asyncProperty(factorRequestArb(live), exchange), { numRuns, seed: SEED, path: REPLAY_PATH });
      if (details.failed) {
        throw new Error(
          `${fc.defaultReportMessage(details)}\n${(details.errorInstance as Error | undefined)?.message ?? ''}\n` +
            `Replay: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} npx vitest run ` +
            `--project e2e-${process.env.E2E_DATABASE} test/fuzz/second-factors.e2e-spec.ts -t '${name}'`,
        );
      }
      await checkTrackedSessionsLive();
    }, 120_000 + numRuns * 2_000);
  }

  it("leaves A's, B's and N's sessions live", checkTrackedSessionsLive);
});

/** A token with a change a server must notice (JWT-shaped or opaque). */
function mutateAny(token: string, how: Parameters<typeof mutateToken>[1]): string {
  if (token.split('.').length === 3) return mutateToken(token, how);
  if ('truncate' in how) return token.slice(0, -Math.min(how.truncate, token.length - 1));
  if ('append' in how) return token + how.append;
  const at = 'flip' in how ? how.at % token.length : 0;
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

/**
 * Whether an assertion with this flaw may pass: a passkey as a second factor proves possession
 * (user verification not needed), a passwordless login also needs the user verified; the user
 * handle is optional (the credential id names the passkey).
 */
function passable(flaw: PasskeyFlaw, route: RouteName): boolean {
  return flaw === 'none' || flaw === 'no-user-handle' || (flaw === 'user-not-verified' && route !== 'passkeyLogin');
}

/** The first `challenge` string anywhere in a value. */
function findChallenge(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [k, v] of Object.entries(value)) {
    if (k === 'challenge' && typeof v === 'string') return v;
    const found = findChallenge(v);
    if (found) return found;
  }
  return undefined;
}

/** The answer's envelope (problems when it is not one). */
function envelopeOf(res: Response, problems: string[]): Record<string, unknown> | undefined {
  const envelope = envelopeProblems(res);
  problems.push(...envelope.map((p) => `not an envelope: ${p}`));
  return envelope.length ? undefined : (JSON.parse(res.text) as Record<string, unknown>);
}

