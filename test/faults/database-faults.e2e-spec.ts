import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import type { Response } from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { SessionRetentionJob } from '../../src/sessions/session-retention.job.js';
import { expectInvalidToken } from '../support/expectations.js';
import { lacks } from '../support/requirements.js';
import { auditRows, type Db, revokedAt, sessionRow, setSessionClock, userRow } from '../support/rows.js';
import { type HttpClient, realPostgresUrl, startApp, type TestApp } from '../support/app.js';
import { envelope, EXPIRED_BODY, INVALID_TOKEN_BODY, LOGGED_OUT_BODY, MESSAGES } from '../support/messages.js';
import { API, bearer, endSessionRequest, loginRequest, logoutRequest, meRequest, passwordRequest, refreshRequest } from '../support/requests.js';
import { signToken } from '../support/tokens.js';
import { login, loginWithRefresh, register, registerAndLogin, registerAndLoginWithRefresh, uniqueEmail } from '../support/users.js';
import { expiredClaimsFor } from '../support/tokens.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { proxyInFront, type TcpProxy } from '../support/tcp-proxy.js';
import { type HeldRows, holdRows } from '../support/row-locks.js';

const INTERNAL_BODY = envelope(MESSAGES.internal);
const UNAVAILABLE_BODY = envelope('Servicio no disponible');

/** Things a driver, the ORM or the proxy would say; none of it may reach a client. */
const LEAKS = [
  /ECONNREFUSED/i,
  /ECONNRESET/i,
  /Connection terminated/i,
  /terminating connection/i,
  /timeout/i,
  /\bselect\b/i,
  /\bupdate\b/i,
  /\binsert\b/i,
  /sessions/i,
  /QueryFailedError/i,
  /TypeORM/i,
  /postgres/i,
  /at .+\.(js|ts):\d+/,
];

function expectNoLeak(res: Response) {
  for (const leak of LEAKS) expect(res.text).not.toMatch(leak);
}

function expectInternal(res: Response) {
  expect(res.status).toBe(500);
  expect(res.text).toBe(INTERNAL_BODY);
  expect(res.headers['www-authenticate']).toBeUndefined();
  expect(res.headers['x-request-id']).toBeTruthy();
  expectNoLeak(res);
}

const withDatabase = (url: string, database: string) => {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
};

const run = describe.skipIf(lacks('postgres', 'a database that goes away, several instances on one database'));
const baseUrl = realPostgresUrl ?? 'postgres://unused@127.0.0.1:5432/unused';

run('when the database goes away under a running app (TCP proxy in front of PostgreSQL)', () => {
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    const front = await proxyInFront(baseUrl, 5432);
    proxy = front.proxy;
    t = await startApp({ DATABASE_URL: front.url });
  });
  afterAll(async () => {
    await proxy?.restore();
    await t?.close();
    await proxy?.close();
  });
  // A case that fails with the proxy cut or stalled must not leave the database away for the others.
  afterEach(async () => {
    await proxy?.restore();
  });

  /** Reads straight from PostgreSQL, not through the proxy. */
  const direct: Db = {
    dataSource: {
      query: async (sql, parameters) => {
        const client = new pg.Client({ connectionString: baseUrl });
        await client.connect();
        try {
          return (await client.query(sql, parameters)).rows;
        } finally {
          await client.end();
        }
      },
    },
  };

  it('answers 500/503 while the database is down, nothing internal leaks, and recovers without a restart', async () => {
    const user = await registerAndLogin(t);
    const loggedOut = await login(t, user.email, user.password);
    await logoutRequest(t, loggedOut.token).expect(200);
    await meRequest(t, user.token).expect(200);
    await t.http().get('/health').expect(200);
    expect(proxy.accepted).toBeGreaterThan(0);

    await proxy.cut('reset');

    // A valid token: the session cannot be checked, so neither 200 nor 401.
    expectInternal(await meRequest(t, user.token));
    expectInternal(await meRequest(t, user.token));
    // A revoked token is no different: the database cannot say so.
    expectInternal(await meRequest(t, loggedOut.token));

    // Logout cannot revoke: 500, and the session must survive it.
    expectInternal(await logoutRequest(t, user.token));
    expectInternal(await logoutRequest(t, user.token).send({ token: user.token }));

    // Login and register need the database.
    expectInternal(await loginRequest(t, user.email, user.password));
    expectInternal(await loginRequest(t, uniqueEmail(), 'password-123'));
    expectInternal(await t.http().post(`${API}/register`).send({ email: uniqueEmail(), password: 'password-123' }));

    // Health says so, in the envelope.
    const started = Date.now();
    const health = await t.http().get('/health');
    expect(health.status).toBe(503);
    expect(health.text).toBe(UNAVAILABLE_BODY);
    expect(Date.now() - started).toBeLessThan(5000);
    expectNoLeak(health);

    // Checks that come before the database still answer as usual.
    const garbage = await meRequest(t, 'not-a-jwt');
    expect(garbage.status).toBe(401);
    expect(garbage.text).toBe(INVALID_TOKEN_BODY);
    const noToken = await logoutRequest(t);
    expect(noToken.status).toBe(401);
    expect(noToken.text).toBe(INVALID_TOKEN_BODY);
    const expired = await meRequest(t, signToken(expiredClaimsFor(user)));
    expect(expired.status).toBe(403);
    expect(expired.text).toBe(EXPIRED_BODY);
    const badBody = await t.http().post(`${API}/register`).send({ email: 'nope', password: 'x' });
    expect(badBody.status).toBe(400);

    await proxy.restore();

    // The same app, without a restart: the failed logout revoked nothing.
    expect(await revokedAt(direct, user.sessionId)).toBeNull();
    const back = await meRequest(t, user.token);
    expect(back.status).toBe(200);
    expect(back.body.data).toEqual({ id: user.userId, email: user.email, sessionId: user.sessionId, amr: ['pwd'], authenticatedAt: expect.any(String) });
    const healthy = await t.http().get('/health');
    expect(healthy.status).toBe(200);
    expect(healthy.body.success).toBe(true);
    expect(await meRequest(t, loggedOut.token).then((r) => r.status)).toBe(401);

    const out = await logoutRequest(t, user.token);
    expect(out.status).toBe(200);
    expect(out.text).toBe(LOGGED_OUT_BODY);
    expect(await revokedAt(direct, user.sessionId)).toBeInstanceOf(Date);
    const after = await meRequest(t, user.token);
    expect(after.status).toBe(401);
    expect(after.text).toBe(INVALID_TOKEN_BODY);

    // New work goes through too.
    const fresh = await registerAndLogin(t);
    await meRequest(t, fresh.token).expect(200);
  });

  it('survives a second outage where nothing listens (ECONNREFUSED), with connections already pooled; no audit row for the failed logout', async () => {
    const user = await registerAndLogin(t);
    // Fill the pool with several connections.
    await Promise.all(Array.from({ length: 8 }, () => meRequest(t, user.token).expect(200)));

    await proxy.cut('refuse');
    const during = await Promise.all([
      ...Array.from({ length: 6 }, () => meRequest(t, user.token)),
      logoutRequest(t, user.token),
      t.http().get('/health'),
    ]);
    for (const res of during.slice(0, 7)) expectInternal(res);
    expect(during[7]!.status).toBe(503);
    expect(during[7]!.text).toBe(UNAVAILABLE_BODY);
    expectNoLeak(during[7]!);
    // And again once the pool is empty: every new connection is refused.
    expectInternal(await meRequest(t, user.token));
    expectInternal(await loginRequest(t, user.email, user.password));
    await proxy.restore();

    await meRequest(t, user.token).expect(200);
    await t.http().get('/health').expect(200);
    expect(await auditRows(t, { event: 'logout', sessionId: user.sessionId })).toHaveLength(0);
    await logoutRequest(t, user.token).expect(200);
  });

  it('answers 500 in bounded time, not never, when the database stops answering on open connections', async () => {
    const user = await registerAndLogin(t);
    await meRequest(t, user.token).expect(200);

    proxy.stall();
    const started = Date.now();
    const [stuck, login, health] = await Promise.all([
      meRequest(t, user.token),
      loginRequest(t, user.email, user.password),
      t.http().get('/health'),
    ]);
    expectInternal(stuck);
    expectInternal(login);
    expect(health.status).toBe(503);
    // The client-side query timeout (7 s) bounds it; queued queries wait behind the stuck one.
    expect(Date.now() - started).toBeLessThan(20_000);
    await proxy.restore();

    await meRequest(t, user.token).expect(200);
    await t.http().get('/health').expect(200);
  }, 40_000);

  // Faults on the paths of the last section of the contract: refresh rotation, logout scopes,
  // the password change, the retention job. Two ways to cut "during": the proxy stalls, so the
  // request's statement is held on its way and never reaches the server, then drops; or a direct
  // connection holds a row lock the statement needs, so the statement is running on the server,
  // blocked (a transaction part done), when the proxy drops the app's connections.
  describe('cut during the paths of refresh tokens, logout scopes, password change and retention', () => {
    /** Sends a request now (supertest waits to be awaited) and keeps its answer for later. */
    const inFlight = (req: PromiseLike<Response>) => Promise.resolve(req);

    /**
     * Sends `req` while `lock` holds a row its statement needs; once that statement (matching
     * `statement`) waits on the server, the proxy drops every connection of the app. The answer,
     * and the app's backend, still on the server (waiting, then going on once the rows are let go).
     */
    async function cutWhileWaiting(lock: HeldRows, req: PromiseLike<Response>, statement: RegExp) {
      const answer = inFlight(req);
      const backend = await lock.blocked();
      expect(backend.query).toMatch(statement);
      await proxy.cut('reset');
      return { res: await answer, backend };
    }

    /** What a refresh may change in a session row, read straight from PostgreSQL. */
    const refreshState = async (id: string) => {
      const row = await sessionRow(direct, id);
      return {
        hash: row.refresh_token_hash.toString('hex'),
        previous: row.previous_refresh_token_hash?.toString('hex') ?? null,
        generation: row.refresh_generation,
        refreshedAt: row.refreshed_at?.getTime() ?? null,
        revokedAt: row.revoked_at,
        endedReason: row.ended_reason,
      };
    };

    /** Every audit row of a user but its logins and registration. */
    const auditsOtherThanLogin = async (userId: string) =>
      (await direct.dataSource.query('SELECT event FROM audit_events WHERE user_id = $1 ORDER BY created_at', [userId]))
        .map((r: { event: string }) => r.event)
        .filter((e: string) => e !== 'login' && e !== 'register');

    it('refresh with the database cut as it is sent (refused, or held by a stalled proxy and dropped): 500, the row unchanged; back without a restart, the OLD refresh token rotates', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const before = await refreshState(user.sessionId);
      expect(before.generation).toBe(0);

      // Nothing listens.
      await proxy.cut('refuse');
      expectInternal(await refreshRequest(t, user.refreshToken));
      await proxy.restore();
      expect(await refreshState(user.sessionId)).toEqual(before);

      // The statement is on its way, held by the proxy, when the connection drops.
      await meRequest(t, user.token).expect(200); // a pooled connection to stall
      proxy.stall();
      const answer = inFlight(refreshRequest(t, user.refreshToken));
      await sleep(300);
      await proxy.cut('reset');
      const res = await answer;
      expectInternal(res);
      expect(res.text).not.toContain(user.refreshToken);
      expect(await refreshState(user.sessionId)).toEqual(before);
      expect(await auditsOtherThanLogin(user.userId)).toEqual([]);
      await proxy.restore();

      // The same app: the rotation never committed, so the old token is still the current one.
      const rotated = await refreshRequest(t, user.refreshToken);
      expect(rotated.status).toBe(200);
      expect(rotated.body).toMatchObject({ success: true, message: MESSAGES.refreshed, data: { sessionId: user.sessionId } });
      const after = await refreshState(user.sessionId);
      expect(after.generation).toBe(1);
      expect(after.previous).toBe(before.hash);
      expect(after.revokedAt).toBeNull();
      await meRequest(t, rotated.body.data.accessToken).expect(200);
      await refreshRequest(t, rotated.body.data.refreshToken).expect(200);
      expect(await auditsOtherThanLogin(user.userId)).toEqual([]);
    });

    // The same fault as above, in a real server process: pg emits 'error' on a client whose
    // connection ends while checked out of the pool, and without a listener that is an uncaught
    // exception, which ends a Node process.
    it('a server process whose database connection drops while a refresh is in flight answers 500 and keeps running', async () => {
      const { proxy: own, url: viaOwn } = await proxyInFront(baseUrl, 5432);
      const server = await startServerProcess({ DATABASE_URL: viaOwn });
      try {
        const user = await registerAndLoginWithRefresh(server);
        own.stall();
        const answer = inFlight(refreshRequest(server, user.refreshToken));
        await sleep(300);
        await own.cut('reset');
        const res = await answer.catch((err: Error) => err);
        await sleep(300);
        expect(server.exitCode(), `the server process exited:\n${server.output().slice(-3000)}`).toBeNull();
        expectInternal(res as Response);
        await own.restore();
        await refreshRequest(server, user.refreshToken).expect(200);
      } finally {
        await server.stop();
        await own.close();
      }
    }, 90_000);

    it('refresh cut while its UPDATE runs on the server and the backend dies with it: 500, nothing committed, the OLD token rotates after', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const before = await refreshState(user.sessionId);
      const lock = await holdRows(baseUrl, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [user.sessionId]);
      try {
        const { res, backend } = await cutWhileWaiting(lock, refreshRequest(t, user.refreshToken), /UPDATE sessions/);
        expectInternal(res);
        await lock.kill(backend.pid);
        await lock.release(backend.pid);
      } finally {
        await lock.release();
      }
      expect(await refreshState(user.sessionId)).toEqual(before);
      expect(await auditsOtherThanLogin(user.userId)).toEqual([]);
      await proxy.restore();

      const rotated = await refreshRequest(t, user.refreshToken);
      expect(rotated.status).toBe(200);
      expect(rotated.body.data.sessionId).toBe(user.sessionId);
      expect((await refreshState(user.sessionId)).generation).toBe(1);
      await meRequest(t, rotated.body.data.accessToken).expect(200);
    });

    it('refresh whose rotation commits but whose answer is lost with the connection: 500, and the OLD token is a retry (the committed successor, no reuse)', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const lock = await holdRows(baseUrl, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [user.sessionId]);
      try {
        const { res, backend } = await cutWhileWaiting(lock, refreshRequest(t, user.refreshToken), /UPDATE sessions/);
        expectInternal(res);
        // Not killed: once the row is free the lone UPDATE goes on and commits, with nobody to tell.
        await lock.release(backend.pid);
      } finally {
        await lock.release();
      }
      const committed = await refreshState(user.sessionId);
      expect(committed.generation).toBe(1);
      await proxy.restore();

      const retry = await refreshRequest(t, user.refreshToken);
      expect(retry.status).toBe(200);
      expect(retry.body.data.sessionId).toBe(user.sessionId);
      expect(await refreshState(user.sessionId)).toEqual(committed); // the successor already stored
      await meRequest(t, retry.body.data.accessToken).expect(200);
      await refreshRequest(t, retry.body.data.refreshToken).expect(200);
      expect((await refreshState(user.sessionId)).generation).toBe(2);
      expect(await auditRows(direct, { event: 'refresh_reuse', sessionId: user.sessionId })).toHaveLength(0);
    });

    it('logout scope others cut mid-statement (some rows updated, one waiting): 500, no session ended, no audit row; back, the same request ends them', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const others = [];
      for (let i = 0; i < 3; i++) others.push(await loginWithRefresh(t, user.email, user.password));
      const sessions = [user, ...others];
      // The last one waits; the statement has ended the others (uncommitted) by then, or not yet.
      const lock = await holdRows(baseUrl, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [others[1]!.sessionId]);
      try {
        const { res, backend } = await cutWhileWaiting(lock, logoutRequest(t, user.token).send({ scope: 'others' }), /UPDATE sessions/);
        expectInternal(res);
        // A lone statement would commit once unblocked: the server end of the connection dies too.
        await lock.kill(backend.pid);
        await lock.release(backend.pid);
      } finally {
        await lock.release();
      }
      for (const s of sessions) {
        const row = await sessionRow(direct, s.sessionId);
        expect(row.revoked_at).toBeNull();
        expect(row.ended_reason).toBeNull();
      }
      expect(await auditRows(direct, { event: 'logout', userId: user.userId })).toHaveLength(0);
      await proxy.restore();

      for (const s of sessions) await meRequest(t, s.token).expect(200);
      const res = await logoutRequest(t, user.token).send({ scope: 'others' });
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ success: true, message: MESSAGES.loggedOut, data: { revokedSessions: 3 } });
      for (const s of others) {
        expect((await sessionRow(direct, s.sessionId)).ended_reason).toBe('logout_others');
        expectInvalidToken(await meRequest(t, s.token));
        expectInvalidToken(await refreshRequest(t, s.refreshToken));
      }
      await meRequest(t, user.token).expect(200);
      const audits = await auditRows(direct, { event: 'logout', userId: user.userId });
      expect(audits).toHaveLength(1);
      expect(audits[0].details).toEqual({ scope: 'others', revokedSessions: 3 });
    });

    it('logout scope others with the database refused before it: 500, nothing ended', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const other = await loginWithRefresh(t, user.email, user.password);
      await proxy.cut('refuse');
      expectInternal(await logoutRequest(t, user.token).send({ scope: 'others' }));
      expectInternal(await logoutRequest(t, user.token).send({ scope: 'all' }));
      await proxy.restore();
      expect(await revokedAt(direct, other.sessionId)).toBeNull();
      expect(await revokedAt(direct, user.sessionId)).toBeNull();
      expect(await auditRows(direct, { event: 'logout', userId: user.userId })).toHaveLength(0);
      await meRequest(t, other.token).expect(200);
    });

    it('password change cut inside its transaction (the new hash written, the other sessions being ended): 500, all rolled back; back, the change works', async () => {
      const NEW_PASSWORD = 'new-password-456';
      const user = await registerAndLoginWithRefresh(t);
      const others = [await loginWithRefresh(t, user.email, user.password), await loginWithRefresh(t, user.email, user.password)];
      const hash = (await userRow(direct, { id: user.userId })).password_hash;
      const change = { currentPassword: user.password, newPassword: NEW_PASSWORD };

      const lock = await holdRows(baseUrl, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [others[1]!.sessionId]);
      try {
        const answer = inFlight(passwordRequest(t, user.token, change));
        const backend = await lock.blocked();
        expect(backend.query).toMatch(/UPDATE sessions/);
        // Half done: its transaction has written the users row already.
        expect(await lock.writing(backend.pid, 'users')).toBe(true);
        await proxy.cut('reset');
        expectInternal(await answer);
        // Not killed: its transaction never gets a COMMIT, so it must roll back on its own.
        await lock.release(backend.pid);
      } finally {
        await lock.release();
      }
      expect((await userRow(direct, { id: user.userId })).password_hash).toBe(hash);
      for (const s of [user, ...others]) expect(await revokedAt(direct, s.sessionId)).toBeNull();
      expect(await auditRows(direct, { event: 'password_changed', userId: user.userId })).toHaveLength(0);
      await proxy.restore();

      // The old password still logs in, the new one does not; every session goes on.
      const again = await loginWithRefresh(t, user.email, user.password);
      const refused = await loginRequest(t, user.email, NEW_PASSWORD);
      expect(refused.status).toBe(401);
      expect(refused.text).toBe(envelope(MESSAGES.badCredentials));
      for (const s of [user, ...others]) await meRequest(t, s.token).expect(200);

      const res = await passwordRequest(t, user.token, change);
      expect(res.status).toBe(200);
      expect(res.body).toStrictEqual({ success: true, message: MESSAGES.passwordChanged, data: { revokedSessions: 3 } });
      for (const s of [...others, again]) expect((await sessionRow(direct, s.sessionId)).ended_reason).toBe('password_changed');
      await meRequest(t, user.token).expect(200);
      expect(await auditRows(direct, { event: 'password_changed', userId: user.userId })).toHaveLength(1);
      await loginRequest(t, user.email, NEW_PASSWORD).expect(200);
      expect((await loginRequest(t, user.email, user.password)).status).toBe(401);
    });

    it('password change with the database cut before it (held by a stalled proxy, then dropped): 500, nothing changed', async () => {
      const user = await registerAndLoginWithRefresh(t);
      const other = await loginWithRefresh(t, user.email, user.password);
      const hash = (await userRow(direct, { id: user.userId })).password_hash;
      proxy.stall();
      const answer = inFlight(passwordRequest(t, user.token, { currentPassword: user.password, newPassword: 'new-password-456' }));
      await sleep(300);
      await proxy.cut('reset');
      expectInternal(await answer);
      await proxy.restore();
      expect((await userRow(direct, { id: user.userId })).password_hash).toBe(hash);
      expect(await revokedAt(direct, other.sessionId)).toBeNull();
      expect(await auditRows(direct, { event: 'password_changed', userId: user.userId })).toHaveLength(0);
      await loginRequest(t, user.email, user.password).expect(200);
    });

    it('retention: purge() cut while its DELETE runs rejects and deletes nothing, run() logs and returns; back, purge() deletes the due rows', async () => {
      const job = t.app.get(SessionRetentionJob);
      const user = await registerAndLoginWithRefresh(t);
      const ended = [];
      for (let i = 0; i < 3; i++) ended.push(await loginWithRefresh(t, user.email, user.password));
      for (const s of ended) await logoutRequest(t, s.token).expect(200);
      const recent = ended.pop()!; // ended now: kept
      for (const s of ended) await setSessionClock(direct, s.sessionId, 'revoked_at', '-40 days');
      const due = ended.map((s) => s.sessionId);
      const present = async (ids: string[]) =>
        (await direct.dataSource.query('SELECT id FROM sessions WHERE id = ANY($1::uuid[])', [ids])).map((r: { id: string }) => r.id).sort();

      const lock = await holdRows(baseUrl, 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [due[1]]);
      try {
        const purge = job.purge().then(
          (deleted) => ({ deleted }),
          (err: unknown) => ({ err }),
        );
        const backend = await lock.blocked();
        expect(backend.query).toMatch(/DELETE FROM sessions/);
        await proxy.cut('reset');
        const outcome = await purge;
        expect(outcome).toHaveProperty('err');
        expect((outcome as { err: unknown }).err).toBeInstanceOf(Error);
        await lock.kill(backend.pid);
        await lock.release(backend.pid);
      } finally {
        await lock.release();
      }
      expect(await present(due)).toEqual([...due].sort());

      // The scheduled job, with the database still cut: logs the failure, throws nothing.
      const logged = vi.spyOn(Logger.prototype, 'error');
      try {
        await expect(job.run()).resolves.toBeUndefined();
        expect(logged).toHaveBeenCalledWith(expect.anything(), 'Purging ended sessions failed');
      } finally {
        logged.mockRestore();
      }
      expect(await present(due)).toEqual([...due].sort());
      await proxy.restore();

      const deleted = await job.purge();
      expect(deleted).toBeGreaterThanOrEqual(due.length);
      expect(await present(due)).toEqual([]);
      expect(await present([recent.sessionId, user.sessionId])).toEqual([recent.sessionId, user.sessionId].sort());
      // Audit rows stay.
      for (const id of due) expect(await auditRows(direct, { event: 'logout', sessionId: id })).toHaveLength(1);
      await meRequest(t, user.token).expect(200);
    });
  });
});

run('two instances on one database', () => {
  let a: TestApp;
  let b: ServerProcess;

  // B is its own OS process: two apps in one process would share anything process-wide, and
  // prove less than two real instances do.
  beforeAll(async () => {
    [a, b] = await Promise.all([startApp(), startServerProcess({ DATABASE_URL: baseUrl })]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.stop()]);
  });

  const logoutAudits = (sessionId: string) => auditRows(a, { event: 'logout', sessionId });

  it('accepts on B a token issued by A, and refuses it on B at once after logout on A', async () => {
    const user = await register(a);
    const session = await login(a, user.email, user.password);

    const onB = await b.http().get(`${API}/me`).set(bearer(session.token));
    expect(onB.status).toBe(200);
    expect(onB.body.data).toEqual({ id: user.userId, email: user.email, sessionId: session.sessionId, amr: ['pwd'], authenticatedAt: expect.any(String) });

    const out = await a.http().post(`${API}/logout`).set(bearer(session.token));
    expect(out.status).toBe(200);
    expect(out.text).toBe(LOGGED_OUT_BODY);

    const meB = await b.http().get(`${API}/me`).set(bearer(session.token));
    expect(meB.status).toBe(401);
    expect(meB.text).toBe(INVALID_TOKEN_BODY);
    const logoutB = await b.http().post(`${API}/logout`).set(bearer(session.token));
    expect(logoutB.status).toBe(401);
    expect(logoutB.text).toBe(INVALID_TOKEN_BODY);
    expect(await logoutAudits(session.sessionId)).toHaveLength(1);
  });

  it('refuses on B every /me that starts after A answered the logout, in a steady stream of them', async () => {
    const user = await registerAndLogin(a);
    const headers = bearer(user.token);
    const seen: Array<{ started: number; status: number }> = [];
    let streaming = true;
    // Four clients asking B in a loop, as a busy browser app would; each notes when it started.
    const stream = async () => {
      while (streaming) {
        const started = performance.now();
        const res = await fetch(`${b.url}${API}/me`, { headers });
        await res.arrayBuffer();
        seen.push({ started, status: res.status });
      }
    };
    const clients = Array.from({ length: 4 }, stream);

    await new Promise((r) => setTimeout(r, 300));
    const out = await a.http().post(`${API}/logout`).set(headers);
    const loggedOut = performance.now();
    expect(out.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    streaming = false;
    await Promise.all(clients);

    const before = seen.filter((r) => r.started < loggedOut - 50); // well before: clearly live
    const after = seen.filter((r) => r.started > loggedOut);
    expect(before.length).toBeGreaterThan(10);
    expect(before.every((r) => r.status === 200)).toBe(true);
    expect(after.length).toBeGreaterThan(10);
    expect(after.filter((r) => r.status !== 401)).toStrictEqual([]);
  });

  it('gives exactly one 200 and one audit row among 20 simultaneous logouts of one token spread over A and B', async () => {
    const user = await registerAndLogin(b);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => logoutRequest(i % 2 ? a : b, user.token)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(19);
    for (const res of results) {
      expect(res.text).toBe(res.status === 200 ? LOGGED_OUT_BODY : INVALID_TOKEN_BODY);
    }
    expect(await logoutAudits(user.sessionId)).toHaveLength(1);
    await meRequest(a, user.token).expect(401);
    await meRequest(b, user.token).expect(401);
  });

  // Refresh tokens and session control across instances: every decision is the database's, so
  // what one instance rotated, ended or replayed, the other knows at its next request.

  const refreshReuseAudits = (sessionId: string) => auditRows(a, { event: 'refresh_reuse', sessionId });

  /** A 200 refresh for session `sessionId`: its new tokens. */
  function refreshed(res: Response, sessionId: string) {
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, message: MESSAGES.refreshed, data: { sessionId, tokenType: 'Bearer' } });
    expect(res.body.data.refreshToken).toMatch(/^[\w-]{70}$/);
    return res.body.data as { accessToken: string; refreshToken: string };
  }

  /** Refreshes `token` on `on`, expecting a 200. */
  const rotate = async (on: HttpClient, token: string, sessionId: string) => refreshed(await refreshRequest(on, token), sessionId);

  /** Every access token refused on /me and every refresh token on /refresh, by both instances. */
  async function expectRefusedEverywhere(tokens: { access?: string[]; refresh?: string[] }) {
    for (const on of [a, b]) {
      for (const token of tokens.access ?? []) expectInvalidToken(await meRequest(on, token));
      for (const token of tokens.refresh ?? []) expectInvalidToken(await refreshRequest(on, token));
    }
  }

  it('gives one and the same successor to 20 simultaneous refreshes of one token, 10 on A and 10 on B; it rotates on either', async () => {
    const user = await registerAndLoginWithRefresh(a);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => refreshRequest(i % 2 ? a : b, user.refreshToken)));
    const successors = new Set(answers.map((res) => refreshed(res, user.sessionId).refreshToken));
    expect(successors.size).toBe(1);
    const [successor] = [...successors] as [string];
    expect(successor).not.toBe(user.refreshToken);
    expect(new Set(answers.map((res) => res.body.data.accessToken)).size).toBe(20);

    const row = await sessionRow(a, user.sessionId);
    expect(row.refresh_generation).toBe(1);
    expect(row.revoked_at).toBeNull();
    expect(row.ended_reason).toBeNull();
    expect(await refreshReuseAudits(user.sessionId)).toHaveLength(0);
    // Access tokens issued by either instance are good on both.
    for (const on of [a, b]) {
      await meRequest(on, answers[0]!.body.data.accessToken).expect(200);
      await meRequest(on, answers[1]!.body.data.accessToken).expect(200);
    }

    // The successor rotates once more on B, and its own successor on A.
    const second = await rotate(b, successor, user.sessionId);
    expect(second.refreshToken).not.toBe(successor);
    expect((await sessionRow(a, user.sessionId)).refresh_generation).toBe(2);
    const third = await rotate(a, second.refreshToken, user.sessionId);
    expect((await sessionRow(a, user.sessionId)).refresh_generation).toBe(3);
    await meRequest(b, third.accessToken).expect(200);
    expect(await refreshReuseAudits(user.sessionId)).toHaveLength(0);
  });

  it('a retry on B of a token just rotated on A gets the same successor; once that successor was used on A, the first token on B is reuse', async () => {
    const user = await registerAndLoginWithRefresh(a);
    const first = await rotate(a, user.refreshToken, user.sessionId);

    // Within REFRESH_REUSE_GRACE, the successor unused: a retry, whichever instance it reaches.
    const retry = await rotate(b, user.refreshToken, user.sessionId);
    expect(retry.refreshToken).toBe(first.refreshToken);
    expect(retry.accessToken).not.toBe(first.accessToken);
    expect((await sessionRow(a, user.sessionId)).refresh_generation).toBe(1);
    await meRequest(a, retry.accessToken).expect(200);
    await meRequest(b, first.accessToken).expect(200);
    expect(await refreshReuseAudits(user.sessionId)).toHaveLength(0);

    // The successor is used on A; the first token again, on B, is a replay.
    const second = await rotate(a, first.refreshToken, user.sessionId);
    expect((await sessionRow(a, user.sessionId)).refresh_generation).toBe(2);
    const reuse = await refreshRequest(b, user.refreshToken).set('X-Request-Id', `reuse-${randomBytes(4).toString('hex')}`);
    expectInvalidToken(reuse);

    const row = await sessionRow(a, user.sessionId);
    expect(row.revoked_at).toBeInstanceOf(Date);
    expect(row.ended_reason).toBe('refresh_reuse');
    const audits = await refreshReuseAudits(user.sessionId);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      user_id: user.userId,
      request_id: reuse.headers['x-request-id'],
      details: { reason: 'refresh_reuse', revokedSessions: 1 },
    });
    // Every access token of the session, whoever issued it, and every refresh token: refused on both.
    await expectRefusedEverywhere({
      access: [user.token, first.accessToken, retry.accessToken, second.accessToken],
      refresh: [second.refreshToken, first.refreshToken, user.refreshToken],
    });
    expect(await refreshReuseAudits(user.sessionId)).toHaveLength(1);
  });

  it("logout with scope others on A: B refuses the other sessions' access and refresh tokens at once, and keeps the caller's", async () => {
    const user = await registerAndLoginWithRefresh(a);
    const others = [await loginWithRefresh(b, user.email, user.password), await loginWithRefresh(a, user.email, user.password)];
    const stranger = await registerAndLoginWithRefresh(b);
    // Live on B first, so that anything B kept of them would show.
    for (const other of others) await meRequest(b, other.token).expect(200);

    const out = await logoutRequest(a, user.token).send({ scope: 'others' });
    expect(out.status).toBe(200);
    expect(out.body).toStrictEqual({ success: true, message: MESSAGES.loggedOut, data: { revokedSessions: 2 } });

    await expectRefusedEverywhere({ access: others.map((o) => o.token), refresh: others.map((o) => o.refreshToken) });
    for (const other of others) expect((await sessionRow(a, other.sessionId)).ended_reason).toBe('logout_others');
    // The caller's session, and another user's, go on, on B too.
    await meRequest(b, user.token).expect(200);
    await rotate(b, user.refreshToken, user.sessionId);
    await meRequest(b, stranger.token).expect(200);
    await rotate(a, stranger.refreshToken, stranger.sessionId);
    expect((await sessionRow(a, user.sessionId)).revoked_at).toBeNull();
  });

  it('DELETE /sessions/:id on B ends a session that A refuses at once', async () => {
    const user = await registerAndLoginWithRefresh(a);
    const target = await loginWithRefresh(a, user.email, user.password);
    await meRequest(a, target.token).expect(200);

    const res = await endSessionRequest(b, user.token, target.sessionId);
    expect(res.status).toBe(200);
    expect(res.text).toBe(LOGGED_OUT_BODY);

    await expectRefusedEverywhere({ access: [target.token], refresh: [target.refreshToken] });
    expect((await sessionRow(a, target.sessionId)).ended_reason).toBe('revoked_by_id');
    expect(await auditRows(a, { event: 'session_revoked', sessionId: target.sessionId })).toHaveLength(1);
    // Ended already: the same 404 on A as for any id that is not a live session of the caller's.
    const again = await endSessionRequest(a, user.token, target.sessionId);
    expect(again.status).toBe(404);
    expect(again.text).toBe(envelope(MESSAGES.notFound));
    await meRequest(a, user.token).expect(200);
    await rotate(a, user.refreshToken, user.sessionId);
  });
});

run('two instances starting together on a fresh database', () => {
  const database = `auth_h2_fresh_${randomBytes(6).toString('hex')}`;
  const admin = () => new pg.Client({ connectionString: baseUrl });
  let created = false;
  let apps: TestApp[] = [];

  beforeAll(async () => {
    const client = admin();
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${database}"`);
      created = true;
    } finally {
      await client.end();
    }
  });
  afterAll(async () => {
    await Promise.all(apps.map((t) => t.close()));
    if (!created) return;
    const client = admin();
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    } finally {
      await client.end();
    }
  });

  it('both come up, the migrations run once each under the advisory lock, and both serve', async () => {
    const url = withDatabase(baseUrl, database);
    const results = await Promise.allSettled([startApp({ DATABASE_URL: url }), startApp({ DATABASE_URL: url })]);
    apps = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const r of results) {
      if (r.status === 'rejected') throw r.reason;
    }
    const [a, b] = apps as [TestApp, TestApp];

    const rows: { name: string; n: string }[] = await a.dataSource.query(
      'SELECT name, count(*) AS n FROM migrations GROUP BY name ORDER BY name',
    );
    const expected = MIGRATIONS.map((M) => new M().name ?? M.name).sort();
    expect(rows.map((r) => r.name)).toEqual(expected);
    for (const row of rows) expect(Number(row.n)).toBe(1);

    const user = await register(a);
    const session = await login(b, user.email, user.password);
    await meRequest(a, session.token).expect(200);
    await b.http().get('/health').expect(200);
  });
});
