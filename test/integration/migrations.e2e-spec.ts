import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NormalizeEmails1763800000000 } from '../../migrations/1763800000000-normalize-emails.js';
import { SessionControl1763900000000 } from '../../migrations/1763900000000-session-control.js';
import { UserRoles1764000000000 } from '../../migrations/1764000000000-user-roles.js';
import { expectExpired, expectInvalidToken } from '../support/expectations.js';
import { userRow } from '../support/rows.js';
import { startApp, type TestApp } from '../support/app.js';
import { MESSAGES } from '../support/messages.js';
import { API, bearer, loginRequest, meRequest } from '../support/requests.js';
import { claimsFor } from '../support/tokens.js';
import { login, register } from '../support/users.js';
import { HS256, handSigned } from '../support/tokens.js';

describe('migration NormalizeEmails: rows stored before emails were NFC-normalized', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  /** A row as the previous release wrote it: lowercased only, with a working password. */
  async function oldRow(email: string): Promise<string> {
    const res = await t.http().post(`${API}/register`).send({ email: `${randomUUID()}@example.com`, password: 'password-123' });
    await t.dataSource.query('UPDATE users SET email = $2 WHERE id = $1', [res.body.data.id, email]);
    return res.body.data.id;
  }

  const emailOf = async (id: string) => (await userRow(t, { id })).email;

  async function migrate() {
    const runner = t.dataSource.createQueryRunner();
    try {
      await new NormalizeEmails1763800000000().up(runner);
    } finally {
      await runner.release();
    }
  }

  it('rewrites a decomposed email to NFC, so its owner can log in again, and leaves the rest alone', async () => {
    const id = randomUUID().slice(0, 8);
    const decomposed = await oldRow(`jose\u0301-${id}@example.com`);
    const ascii = await oldRow(`plain-${id}@example.com`);
    const composedAlready = await oldRow(`mar\u00eda-${id}@example.com`);

    const login = () => loginRequest(t, `jos\u00e9-${id}@example.com`, 'password-123');
    expect((await login()).status).toBe(401);

    await migrate();

    expect(await emailOf(decomposed)).toBe(`jos\u00e9-${id}@example.com`);
    expect(await emailOf(ascii)).toBe(`plain-${id}@example.com`);
    expect(await emailOf(composedAlready)).toBe(`mar\u00eda-${id}@example.com`);
    expect((await login()).status).toBe(200);
  });

  it('leaves both rows as they are when the normalized email is taken already', async () => {
    const id = randomUUID().slice(0, 8);
    const composed = await oldRow(`ren\u00e9-${id}@example.com`);
    const decomposed = await oldRow(`rene\u0301-${id}@example.com`);

    await migrate();

    expect(await emailOf(composed)).toBe(`ren\u00e9-${id}@example.com`);
    expect(await emailOf(decomposed)).toBe(`rene\u0301-${id}@example.com`);
  });
});

describe('migration SessionControl: a database as the previous release left it, upgraded', () => {
  // A dedicated app: the newest migration is reverted on its database, rows are written as the
  // previous release wrote them, and the migration runs again. afterAll migrates again if a test
  // stopped half-way, so the database is left migrated for the specs that follow (on the
  // PostgreSQL run they share it).
  let t: TestApp;
  const migration = new SessionControl1763900000000();
  const MINUTE = 60_000;
  const now = Date.now();
  const at = (msFromNow: number) => new Date(now + msFromNow);

  /** Runs `up` or `down` of the newest migration on the app's database. */
  async function run(direction: 'up' | 'down'): Promise<void> {
    const runner = t.dataSource.createQueryRunner();
    try {
      await migration[direction](runner);
    } finally {
      await runner.release();
    }
  }
  const hasNewColumns = async () =>
    (
      await t.dataSource.query(
        `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'sessions' AND column_name = 'last_used_at'`,
      )
    ).length === 1;

  /** What the previous release's tables held, in its columns only, ordered: compared before and after. */
  const OLD_SHAPE = {
    users: 'SELECT id, email, password_hash, created_at FROM users ORDER BY id',
    sessions: 'SELECT id, user_id, created_at, expires_at, revoked_at, ip, user_agent FROM sessions ORDER BY id',
    audit_events:
      'SELECT id, event, user_id, session_id, ip, user_agent, request_id, details, created_at FROM audit_events ORDER BY id',
  } as const;
  const snapshot = async () =>
    Object.fromEntries(
      await Promise.all(Object.entries(OLD_SHAPE).map(async ([table, sql]) => [table, await t.dataSource.query(sql)])),
    ) as Record<keyof typeof OLD_SHAPE, any[]>;

  // Users, one of them with a password that works (copied from a user registered through the API).
  const alice = { id: randomUUID(), email: `alice-${randomUUID()}@example.com`, password: 'password-123' };
  const bob = { id: randomUUID(), email: `bob-${randomUUID()}@example.com` };
  /**
   * Sessions as the previous release wrote them: `expires_at` was the access token's expiry
   * (login plus JWT_ACCESS_TTL, 15 minutes), revoked_at the logout.
   */
  const OLD_SESSIONS = {
    live: { id: randomUUID(), userId: alice.id, createdAt: at(-5 * MINUTE), expiresAt: at(10 * MINUTE), revokedAt: null, ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (old release)' },
    liveNoClient: { id: randomUUID(), userId: alice.id, createdAt: at(-3 * MINUTE), expiresAt: at(12 * MINUTE), revokedAt: null, ip: null, userAgent: null },
    revoked: { id: randomUUID(), userId: alice.id, createdAt: at(-8 * MINUTE), expiresAt: at(7 * MINUTE), revokedAt: at(-MINUTE), ip: '198.51.100.2', userAgent: 'curl/8.0' },
    revokedLongAgo: { id: randomUUID(), userId: alice.id, createdAt: at(-120 * MINUTE), expiresAt: at(-105 * MINUTE), revokedAt: at(-110 * MINUTE), ip: '198.51.100.3', userAgent: 'curl/7.0' },
    expired: { id: randomUUID(), userId: alice.id, createdAt: at(-60 * MINUTE), expiresAt: at(-45 * MINUTE), revokedAt: null, ip: '198.51.100.4', userAgent: 'Safari' },
    bobs: { id: randomUUID(), userId: bob.id, createdAt: at(-4 * MINUTE), expiresAt: at(11 * MINUTE), revokedAt: null, ip: '192.0.2.9', userAgent: 'Firefox' },
    bobsToLogOut: { id: randomUUID(), userId: bob.id, createdAt: at(-2 * MINUTE), expiresAt: at(13 * MINUTE), revokedAt: null, ip: '192.0.2.10', userAgent: 'Edge' },
  };
  type OldSession = (typeof OLD_SESSIONS)[keyof typeof OLD_SESSIONS];

  /** An access token as the previous release issued it for the session: exp was its expires_at. */
  const oldToken = (s: OldSession) =>
    handSigned(
      HS256,
      claimsFor({ userId: s.userId, sessionId: s.id }, { iat: Math.floor(s.createdAt.getTime() / 1000), exp: Math.floor(s.expiresAt.getTime() / 1000) }),
    );

  let before: Awaited<ReturnType<typeof snapshot>>;
  let migratedAt: number;
  let after: Awaited<ReturnType<typeof snapshot>>;
  /** Our sessions, every column, and the rows the upgrade filled wrongly: as the migration left them, before any case ran. */
  let upgraded: any[];
  let wrongAtUpgrade: Record<string, string>;

  beforeAll(async () => {
    t = await startApp();
    const registered = await register(t);
    const [{ password_hash: workingHash }] = await t.dataSource.query('SELECT password_hash FROM users WHERE id = $1', [registered.userId]);

    await run('down');
    expect(await hasNewColumns()).toBe(false);

    const q = (sql: string, params: unknown[]) => t.dataSource.query(sql, params);
    await q('INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)', [alice.id, alice.email, workingHash, at(-300 * MINUTE)]);
    await q('INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)', [bob.id, bob.email, workingHash, at(-200 * MINUTE)]);
    for (const s of Object.values(OLD_SESSIONS)) {
      await q(
        'INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [s.id, s.userId, s.createdAt, s.expiresAt, s.revokedAt, s.ip, s.userAgent],
      );
      await q(
        `INSERT INTO audit_events (event, user_id, session_id, ip, user_agent, request_id, details, created_at) VALUES ('login', $1, $2, $3, $4, $5, '{}', $6)`,
        [s.userId, s.id, s.ip, s.userAgent, `req-${s.id}`, s.createdAt],
      );
      if (s.revokedAt) {
        await q(
          `INSERT INTO audit_events (event, user_id, session_id, ip, user_agent, request_id, details, created_at) VALUES ('logout', $1, $2, $3, $4, $5, '{"scope":"current"}', $6)`,
          [s.userId, s.id, s.ip, s.userAgent, `req-logout-${s.id}`, s.revokedAt],
        );
      }
    }
    await q(
      `INSERT INTO audit_events (event, user_id, session_id, ip, user_agent, request_id, details, created_at) VALUES ('login_failed', $1, NULL, '192.0.2.1', NULL, 'req-failed', $2, $3)`,
      [alice.id, JSON.stringify({ email: alice.email }), at(-30 * MINUTE)],
    );

    before = await snapshot();
    migratedAt = Date.now();
    await run('up');
    after = await snapshot();
    upgraded = await t.dataSource.query('SELECT * FROM sessions WHERE id = ANY($1::uuid[])', [Object.values(OLD_SESSIONS).map((s) => s.id)]);
    // Every row of the table, not just ours (on PostgreSQL it holds other specs' rows).
    [wrongAtUpgrade] = await t.dataSource.query(`
      SELECT count(*) FILTER (WHERE last_used_at IS DISTINCT FROM created_at AND last_used_at < $1) AS last_used,
             count(*) FILTER (WHERE (revoked_at IS NOT NULL) <> (ended_reason IS NOT DISTINCT FROM 'logout')) AS reason,
             count(*) FILTER (WHERE refresh_token_hash IS NOT NULL OR previous_refresh_token_hash IS NOT NULL
                                 OR refresh_generation <> 0 OR refreshed_at IS NOT NULL) AS refresh
        FROM sessions`, [new Date(migratedAt - 60_000)]);
  });

  afterAll(async () => {
    if (t && !(await hasNewColumns())) await run('up');
    await t?.close();
  });

  it('loses no row and changes no value the previous release wrote (users, sessions, audit_events)', async () => {
    for (const table of Object.keys(OLD_SHAPE) as Array<keyof typeof OLD_SHAPE>) {
      expect(after[table].length, table).toBe(before[table].length);
      expect(after[table], table).toEqual(before[table]);
    }
    // Ours among them, as written.
    const sessions = new Map(after.sessions.map((r) => [r.id, r]));
    for (const s of Object.values(OLD_SESSIONS)) {
      expect(sessions.get(s.id)).toEqual({
        id: s.id,
        user_id: s.userId,
        created_at: s.createdAt,
        expires_at: s.expiresAt,
        revoked_at: s.revokedAt,
        ip: s.ip,
        user_agent: s.userAgent,
      });
    }
    expect(after.audit_events.filter((r) => r.user_id === alice.id || r.user_id === bob.id)).toHaveLength(
      Object.keys(OLD_SESSIONS).length + 2 + 1,
    );
  });

  it('fills the new columns: live ones used at the upgrade, the rest when opened, revoked ones ended by logout, no refresh token', async () => {
    const rows = upgraded;
    expect(rows).toHaveLength(Object.keys(OLD_SESSIONS).length);
    for (const s of Object.values(OLD_SESSIONS)) {
      const row = rows.find((r) => r.id === s.id);
      const live = !s.revokedAt && s.expiresAt.getTime() > Date.now();
      if (live) expect(row.last_used_at.getTime(), s.id).toBeGreaterThan(migratedAt - 60_000);
      else expect(row.last_used_at, s.id).toEqual(s.createdAt);
      expect(row, s.id).toMatchObject({
        expires_at: s.expiresAt,
        ended_reason: s.revokedAt ? 'logout' : null,
        refresh_token_hash: null,
        previous_refresh_token_hash: null,
        refresh_generation: 0,
        refreshed_at: null,
      });
    }
    // The same for every row of the table, not just ours.
    expect(wrongAtUpgrade).toEqual({ last_used: '0', reason: '0', refresh: '0' });
  });

  it('creates the columns and indexes the new release needs, with their types, defaults and constraints', async () => {
    const columns: any[] = await t.dataSource.query(`
      SELECT column_name AS name, data_type AS type, character_maximum_length AS length, is_nullable AS nullable, column_default AS "default"
        FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = 'sessions'
         AND column_name IN ('last_used_at', 'ended_reason', 'refresh_token_hash', 'previous_refresh_token_hash', 'refresh_generation', 'refreshed_at')
       ORDER BY column_name`);
    expect(columns).toEqual([
      { name: 'ended_reason', type: 'character varying', length: 32, nullable: 'YES', default: null },
      { name: 'last_used_at', type: 'timestamp with time zone', length: null, nullable: 'NO', default: 'now()' },
      { name: 'previous_refresh_token_hash', type: 'bytea', length: null, nullable: 'YES', default: null },
      { name: 'refresh_generation', type: 'integer', length: null, nullable: 'NO', default: '0' },
      { name: 'refresh_token_hash', type: 'bytea', length: null, nullable: 'YES', default: null },
      { name: 'refreshed_at', type: 'timestamp with time zone', length: null, nullable: 'YES', default: null },
    ]);
    const indexes: Array<{ indexname: string }> = await t.dataSource.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'sessions' ORDER BY indexname`,
    );
    expect(indexes.map((i) => i.indexname)).toEqual(
      expect.arrayContaining(['IDX_sessions_expires_at', 'IDX_sessions_user_id', 'PK_sessions']),
    );
  });

  it('takes rows still written in the old shape (an old instance during a rolling deploy) with sensible defaults', async () => {
    const id = randomUUID();
    await t.dataSource.query(
      `INSERT INTO sessions (id, user_id, expires_at, ip, user_agent) VALUES ($1, $2, now() + interval '15 minutes', '192.0.2.50', 'old instance')`,
      [id, bob.id],
    );
    const [row] = await t.dataSource.query('SELECT *, last_used_at = created_at AS same FROM sessions WHERE id = $1', [id]);
    expect(row).toMatchObject({ same: true, ended_reason: null, refresh_token_hash: null, refresh_generation: 0, refreshed_at: null });
    await t.dataSource.query('DELETE FROM sessions WHERE id = $1', [id]);
  });

  it('lists the old sessions: live ones used at the upgrade, ended ones with why (logout, expired)', async () => {
    const token = oldToken(OLD_SESSIONS.live);
    const live = await t.http().get(`${API}/sessions`).set(bearer(token));
    expect(live.status).toBe(200);
    expect(live.body.message).toBe(MESSAGES.sessions);
    const view = (s: OldSession) => ({
      id: s.id,
      createdAt: s.createdAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(),
      ip: s.ip,
      userAgent: s.userAgent,
      device: expect.any(Object),
      amr: ['pwd'],
    });
    // Both live ones count as used at the upgrade (this very request may write the bearer's again).
    expect(live.body.data.sessions).toEqual([
      { ...view(OLD_SESSIONS.liveNoClient), lastUsedAt: expect.any(String), current: false },
      { ...view(OLD_SESSIONS.live), lastUsedAt: expect.any(String), current: true },
    ]);
    for (const listed of live.body.data.sessions) expect(Date.parse(listed.lastUsedAt)).toBeGreaterThan(migratedAt - 60_000);

    const ended = await t.http().get(`${API}/sessions?state=ended`).set(bearer(token));
    expect(ended.status).toBe(200);
    expect(ended.body.data.sessions).toEqual([
      {
        ...view(OLD_SESSIONS.revoked),
        lastUsedAt: OLD_SESSIONS.revoked.createdAt.toISOString(),
        endedAt: OLD_SESSIONS.revoked.revokedAt!.toISOString(),
        endReason: 'logout',
        current: false,
      },
      {
        ...view(OLD_SESSIONS.expired),
        lastUsedAt: OLD_SESSIONS.expired.createdAt.toISOString(),
        endedAt: OLD_SESSIONS.expired.expiresAt.toISOString(),
        endReason: 'expired',
        current: false,
      },
      {
        ...view(OLD_SESSIONS.revokedLongAgo),
        lastUsedAt: OLD_SESSIONS.revokedLongAgo.createdAt.toISOString(),
        endedAt: OLD_SESSIONS.revokedLongAgo.revokedAt!.toISOString(),
        endReason: 'logout',
        current: false,
      },
    ]);
  });

  it('serves the old tokens: a live session passes /me, a revoked one is refused, an expired one is expired', async () => {
    const me = await meRequest(t, oldToken(OLD_SESSIONS.live));
    expect(me.status).toBe(200);
    expect(me.body.data).toEqual({ id: alice.id, email: alice.email, sessionId: OLD_SESSIONS.live.id, amr: ['pwd'], authenticatedAt: expect.any(String) });
    expect((await meRequest(t, oldToken(OLD_SESSIONS.liveNoClient))).status).toBe(200);
    expect((await meRequest(t, oldToken(OLD_SESSIONS.bobs))).status).toBe(200);
    expectInvalidToken(await meRequest(t, oldToken(OLD_SESSIONS.revoked)));
    expectExpired(await meRequest(t, oldToken(OLD_SESSIONS.expired)));
  });

  // Bob's sessions only: the cases above read Alice's as the upgrade left them.
  it('lets the old users log in (a new session with a refresh token) and log an old session out', async () => {
    const fresh = await login(t, bob.email, 'password-123');
    const [row] = await t.dataSource.query('SELECT refresh_token_hash, ended_reason FROM sessions WHERE id = $1', [fresh.sessionId]);
    expect(Buffer.isBuffer(row.refresh_token_hash)).toBe(true);
    expect(row.ended_reason).toBeNull();

    const token = oldToken(OLD_SESSIONS.bobsToLogOut);
    const res = await t.http().post(`${API}/logout`).set(bearer(token));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: MESSAGES.loggedOut });
    const [ended] = await t.dataSource.query('SELECT revoked_at, ended_reason FROM sessions WHERE id = $1', [OLD_SESSIONS.bobsToLogOut.id]);
    expect(ended.revoked_at).toBeInstanceOf(Date);
    expect(ended.ended_reason).toBe('logout');
    expectInvalidToken(await meRequest(t, token));
    expect((await loginRequest(t, bob.email, 'password-123')).status).toBe(200);
  });
});

describe('migration UserRoles, and the entities beside the schema', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('gives every user, old and new, an empty text[] of roles, and reverts cleanly', async () => {
    const before = await register(t);
    const runner = t.dataSource.createQueryRunner();
    try {
      // Through the runner's own connection: the embedded database has one.
      await new UserRoles1764000000000().down(runner);
      await runner.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [`old-${randomUUID()}@example.com`, 'x']);
      await new UserRoles1764000000000().up(runner);
    } finally {
      await runner.release();
    }
    const rows: Array<{ roles: string[] }> = await t.dataSource.query('SELECT roles FROM users');
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) expect(row.roles).toStrictEqual([]);
    expect((await t.dataSource.query('SELECT roles FROM users WHERE id = $1', [before.userId]))[0].roles).toStrictEqual([]);
  });

  it('the entities describe exactly the schema the migrations build: the migration generator finds nothing to do', async () => {
    const sql = await t.dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toStrictEqual([]);
  });
});
