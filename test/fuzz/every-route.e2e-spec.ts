import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../support/app.js';
import { INVALID_TOKEN_BODY, MESSAGES } from '../support/messages.js';
import { API, bearer, meRequest, refreshRequest } from '../support/requests.js';
import { loginWithRefresh, register, registerAndLoginWithRefresh, type WithRefresh } from '../support/users.js';
import { revokedAt, setSessionClock } from '../support/rows.js';
import {
  accountDeletionRequestArb,
  accountRequestArb,
  anyRequestArb,
  credentialsRequestArb,
  liveLogoutRequestArb,
  protectedRequestArb,
  refreshRequestArb,
  sessionControlRequestArb,
} from './generators.js';
import { Materializer } from './materializer.js';
import {
  checkAnswer,
  decodePayload,
  depthOf,
  describeExchange,
  GRACE_MS,
  hasNul,
  NOT_FOUND_BODY,
  send,
  sessionIdInPath,
  SKEW_MS,
} from './oracle.js';
import type { RequestRecipe } from './recipes.js';
import { ROUTES } from './routes.js';
import { FuzzState, type Session } from './state.js';

/*
 * Property-based fuzzing of every route. Random requests (methods, mutated paths,
 * Authorization variants, content types, request ids, bodies of every shape, tokens derived from
 * real ones) go to an in-process server over real HTTP (node:http, so that bytes go out exactly as
 * generated), and every answer is checked:
 *
 *   1. it is a contract envelope (HEAD: no body; Swagger UI and its assets, and the OpenAPI
 *      document, are exempt), and carries an X-Request-Id (the client's own when sane), nosniff,
 *      no X-Powered-By, no-store on auth routes, WWW-Authenticate on token errors, and one
 *      byte-identical 401 body;
 *   2. it is never a 5xx: everything sent is client input;
 *   3. a 2xx from anything but register, login, forgot, health, passkey login options or the docs
 *      needs a genuine live credential in the Authorization header; GET /me answers for exactly
 *      that session (the routes of second factors are here too, for a user without factors:
 *      test/fuzz/second-factors.e2e-spec.ts fuzzes them with factors);
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
 *        - a 2xx DELETE /account under a live bearer of A (A's right password), every one (and
 *          then A registers again, a new user with the same email and password);
 *        - a 401 POST /refresh of a refresh token of that very session that was rotated already
 *          (reuse): after its successor was used, or past REFRESH_REUSE_GRACE (the fuzz moves a
 *          rotation an hour back, as test/e2e/refresh.e2e-spec.ts does, rather than waiting).
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
      // Past the grace period, without waiting for it (as test/e2e/refresh.e2e-spec.ts does).
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
      } else if (body.message === MESSAGES.accountDeleted) {
        ends(aIds, 'account deletion');
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
      // surrogate, which is no Unicode text, with a NUL, or with prototype poisoning is a 400 first).
      const text = JSON.stringify(req.bodyObject);
      const wellFormed =
        depthOf(req.bodyObject) <= 8 &&
        !/\\ud[89a-f][0-9a-f]{2}/i.test(text) &&
        !hasNul(req.bodyObject) &&
        !/__proto__|constructor|prototype/.test(text);
      const dead = (refresh.kind === 'other' && wellFormed) || replayed;
      if (live && res.status !== 200) problems.push(`a live refresh token (${refresh.kind}) was refused (${res.status})`);
      if (dead && res.text !== INVALID_TOKEN_BODY) problems.push(`a refresh token that is not live (${refresh.kind}): ${res.status}, not the token 401`);
    }

    if (success && body.message === MESSAGES.passwordChanged) {
      state.userA.password = String(req.bodyObject!.newPassword);
      note('password changed');
    }

    // A deleted A: nothing of A is left but audit rows; A registers again (the email is free) so
    // that the fuzz goes on with a user A, a new one.
    if (success && body.message === MESSAGES.accountDeleted) {
      const left = await t.dataSource.query('SELECT 1 FROM users WHERE id = $1 UNION ALL SELECT 1 FROM sessions WHERE user_id = $1', [state.userA.userId]);
      if (left.length) problems.push('the deleted account left its user or session rows');
      state.userA.userId = (await register(t, state.userA.email, state.userA.password)).userId;
      note('account deleted, A registered again');
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

  /**
   * B's first session is live, and A's tracked sessions usable, their refresh tokens too. Each
   * rotation it makes is recorded, so that the oracle of whichever case runs next agrees with the rows.
   */
  async function checkTrackedSessionsUsable(): Promise<void> {
    const userB = originalB;
    expect(await revokedAt(t, userB.sessionId)).toBeNull();
    const me = await meRequest(t, userB.token).expect(200);
    expect(me.body.data).toEqual({ id: userB.userId, email: userB.email, sessionId: userB.sessionId, amr: ['pwd'], authenticatedAt: expect.any(String) });
    const current = [...state.a, ...(state.userB.sessionId === userB.sessionId ? [userB] : [])];
    for (const session of current) {
      await meRequest(t, session.token).expect(200);
      const chain = state.chains.get(session.sessionId)!;
      const sent = Date.now();
      const res = await refreshRequest(t, chain.tokens.at(-1)).expect(200);
      chain.tokens.push(res.body.data.refreshToken);
      chain.rotated = { sent, received: Date.now() };
      expect(res.body.data.sessionId).toBe(session.sessionId);
    }
  }

  const properties: Array<[name: string, share: number, arbitrary: fc.Arbitrary<RequestRecipe>]> = [
    ['any request to any route', 0.2, anyRequestArb],
    ['GET /me and POST /logout with real tokens and everything derived from them', 0.2, protectedRequestArb],
    ['POST /logout under a live bearer of A, with body tokens of every kind', 0.1, liveLogoutRequestArb],
    ['POST register and login with bodies of every kind', 0.1, credentialsRequestArb],
    ['POST password forgot and reset, email verify and resend, with bodies and tokens of every kind', 0.1, accountRequestArb],
    ['DELETE /account under every kind of Authorization, with the right password or not', 0.05, accountDeletionRequestArb],
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
            `--project e2e-${process.env.E2E_DATABASE} test/fuzz/every-route.e2e-spec.ts -t '${name}'`,
        );
      }
      await checkTrackedSessionsUsable();
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

  // Cases run in any order (CI shuffles them): each property also ends with this check, so that
  // what the fuzz did is checked after every case, not only when this one happens to run last.
  it("leaves user B's session live, and A's tracked sessions usable, their refresh tokens too", checkTrackedSessionsUsable);
});
