import { Injectable } from '@nestjs/common';
import { auditRequestId, INSERT_AUDIT } from '../audit/audit.repository.js';
import type { Requester } from '../http/requester.js';
import { Database, type Statement } from '../database/database.js';
import type { PageKey } from '../database/page-cursor.js';
import { END_REASONS, type ManyEndReason, type SingleEndReason } from './end-reason.js';
import { RECORD_SESSION_ENDS } from './session-ended-events.js';
import { SessionPolicy } from './session-policy.js';
import type { Amr } from './amr.js';

export interface LiveSession {
  id: string;
  userId: string;
  email: string;
  roles: string[];
  expiresAt: Date;
  amr: Amr[];
  authenticatedAt: Date;
}

export interface SessionView {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  amr: Amr[];
  endedAt?: Date;
  endReason?: string;
  /** Text, so that the microseconds survive the round trip. */
  pageKey: string;
}

export interface RefreshState extends LiveSession {
  live: boolean;
  refreshHash: Buffer | null;
  previousRefreshHash: Buffer | null;
  generation: number;
  inGrace: boolean;
}

export interface Ending {
  sessionId: string;
  userId: string;
  reason: SingleEndReason;
  who: Requester;
}

const statement = (name: string, text: string): Statement => ({ name: `sessions-${name}`, text });

const live = (s: string, idle: string) =>
  `${s}.revoked_at IS NULL AND ${s}.expires_at > now() AND ${s}.last_used_at > now() - make_interval(secs => ${idle})`;

// Although a lock ends every session: a lock set by hand is obeyed too.
const unlocked = (u: string) => `${u}.locked_at IS NULL`;

// Only under the epoch checked with the credentials ($8), FOR SHARE: an end of all waits for this insert and ends it, or it inserts nothing.
const OPEN = statement('open', `
  WITH account AS (
    SELECT id FROM users u WHERE u.id = $1 AND u.session_epoch = $8 AND ${unlocked('u')} FOR SHARE
  ), opened AS (
    INSERT INTO sessions (user_id, expires_at, ip, user_agent, refresh_token_hash, access_expires_at, amr)
    SELECT id, $2, $3, $4, $6, $7, $9::text[] FROM account
    RETURNING id, user_id
  )
  ${INSERT_AUDIT}
  SELECT 'login', user_id, id, $3, $4, $5, jsonb_build_object('amr', $9::text[]) FROM opened
  RETURNING session_id AS id`);

const FIND_LIVE = statement('find-live', `
  SELECT s.id, s.user_id AS "userId", u.email, u.roles, s.expires_at AS "expiresAt", s.amr, s.authenticated_at AS "authenticatedAt",
         s.last_used_at < now() - interval '60 seconds' AS stale
    FROM sessions s JOIN users u ON u.id = s.user_id
   WHERE s.id = ANY($1::uuid[]) AND ${live('s', '$2')} AND ${unlocked('u')}`);

// SKIP LOCKED: a touch never waits, so is never in a deadlock; a later request touches what it skipped.
const TOUCH = statement('touch', `
  UPDATE sessions s SET last_used_at = now()
    FROM (SELECT id FROM sessions
           WHERE id = ANY($1::uuid[]) AND last_used_at < now() - interval '60 seconds'
           ORDER BY id FOR UPDATE SKIP LOCKED) due
   WHERE s.id = due.id`);

// deny_until: receivers may forget the session once its last access token has expired.
const ENDED_COLUMNS = `s.id, s.user_id, s.ended_reason AS reason, s.version, coalesce(s.access_expires_at, s.expires_at) AS deny_until`;

// Id order before the event order lock, so no cycle; MATERIALIZED, or the planner locks in scan order.
const lockInOrder = (select: string) => `targets AS MATERIALIZED (${select} ORDER BY s.id FOR UPDATE OF s)`;

// An audit row and an event only where revoked_at flips, for the batch's first (lowest ord) request: one end of a session wins.
const END_EACH = statement('end-each', `
  WITH asked AS (
    SELECT DISTINCT ON (session_id) *
      FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::int[])
        AS a(session_id, user_id, reason, event, ip, user_agent, request_id, details, ord)
     ORDER BY session_id, ord
  ), ${lockInOrder(`SELECT s.id FROM sessions s JOIN asked a ON s.id = a.session_id AND s.user_id = a.user_id WHERE ${live('s', '$10')}`)},
  ended AS (
    UPDATE sessions s SET revoked_at = now(), ended_reason = a.reason, version = s.version + 1
      FROM asked a
     WHERE s.id = a.session_id AND s.id IN (SELECT id FROM targets) AND ${live('s', '$10')}
    RETURNING ${ENDED_COLUMNS}, a.event, a.ip, a.user_agent, a.request_id, a.details
  ), ${RECORD_SESSION_ENDS('ended', 'targets')}
  ${INSERT_AUDIT}
  SELECT event, user_id, id, ip, user_agent, request_id, details FROM ended
  RETURNING session_id AS id`);

const END_ALL = statement('end-all', `
  WITH ${lockInOrder(`SELECT s.id FROM sessions s WHERE s.user_id = $1 AND ($2::uuid IS NULL OR s.id <> $2::uuid) AND ${live('s', '$10')}`)},
  ended AS (
    UPDATE sessions s SET revoked_at = now(), ended_reason = $3, version = s.version + 1
     WHERE s.id IN (SELECT id FROM targets) AND ${live('s', '$10')}
    RETURNING ${ENDED_COLUMNS}
  ), ${RECORD_SESSION_ENDS('ended', 'targets')}
  ${INSERT_AUDIT}
  SELECT $4, $1, $5, $6, $7, $8, $9::jsonb || jsonb_build_object('revokedSessions', (SELECT count(*) FROM ended))
  RETURNING (details->>'revokedSessions')::int AS count`);

const LIST_LIVE = statement('list-live', `
  SELECT id, created_at AS "createdAt", last_used_at AS "lastUsedAt", expires_at AS "expiresAt", ip, user_agent AS "userAgent", amr,
         created_at::text AS "pageKey"
    FROM sessions s
   WHERE s.user_id = $1 AND ${live('s', '$2')}
     AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
   ORDER BY created_at DESC, id DESC
   LIMIT $3`);

// A session that ran out was ended by the first of its two clocks.
const LIST_ENDED = statement('list-ended', `
  SELECT *, "endedAt"::text AS "pageKey" FROM (
    SELECT id, created_at AS "createdAt", last_used_at AS "lastUsedAt", expires_at AS "expiresAt", ip, user_agent AS "userAgent", amr,
           CASE WHEN revoked_at IS NOT NULL THEN revoked_at
                ELSE LEAST(expires_at, last_used_at + make_interval(secs => $2)) END AS "endedAt",
           CASE WHEN revoked_at IS NOT NULL THEN ended_reason
                WHEN last_used_at + make_interval(secs => $2) < expires_at THEN 'idle_timeout'
                ELSE 'expired' END AS "endReason"
      FROM sessions s
     WHERE s.user_id = $1 AND NOT (${live('s', '$2')})
  ) ended
  WHERE $4::timestamptz IS NULL OR ("endedAt", id) < ($4::timestamptz, $5::uuid)
  ORDER BY "endedAt" DESC, id DESC
  LIMIT $3`);

// The latest access token's expiry is remembered for the end's event (deny_until).
const issuing = (n: string) => `
  access_expires_at = GREATEST(s.access_expires_at, LEAST(s.expires_at, ${n}::timestamptz)), version = s.version + 1`;
const ISSUED = (n: string) => `LEAST(s.expires_at, ${n}::timestamptz) AS "accessExpiresAt"`;

// Only while the presented hash is current: of simultaneous refreshes of one token exactly one rotates.
const ROTATE = statement('rotate', `
  UPDATE sessions s
     SET previous_refresh_token_hash = s.refresh_token_hash, refresh_token_hash = $3,
         refresh_generation = s.refresh_generation + 1, refreshed_at = now(), last_used_at = now(), ${issuing('$6')}
    FROM users u
   WHERE s.id = $1 AND s.refresh_token_hash = $2 AND s.refresh_generation = $5 AND u.id = s.user_id AND ${live('s', '$4')} AND ${unlocked('u')}
  RETURNING s.id, s.user_id AS "userId", u.email, u.roles, s.expires_at AS "expiresAt", s.amr, s.authenticated_at AS "authenticatedAt", ${ISSUED('$6')}`);

const REISSUE = statement('reissue', `
  UPDATE sessions s SET ${issuing('$3')}
    FROM users u
   WHERE s.id = $1 AND u.id = s.user_id AND ${live('s', '$2')} AND ${unlocked('u')}
  RETURNING ${ISSUED('$3')}`);

const REFRESH_STATE = statement('refresh-state', `
  SELECT s.id, s.user_id AS "userId", u.email, u.roles, s.expires_at AS "expiresAt", s.amr, s.authenticated_at AS "authenticatedAt",
         ${live('s', '$2')} AND ${unlocked('u')} AS live,
         s.refresh_token_hash AS "refreshHash", s.previous_refresh_token_hash AS "previousRefreshHash",
         s.refresh_generation AS generation, s.refreshed_at > now() - make_interval(secs => $3) AS "inGrace"
    FROM sessions s JOIN users u ON u.id = s.user_id
   WHERE s.id = $1`);

// A proof raises only a live session of its user; a method it did not record yet is appended.
const RAISE = statement('raise', `
  UPDATE sessions s
     SET authenticated_at = now(), version = s.version + 1,
         amr = s.amr || ARRAY(SELECT DISTINCT m FROM unnest($3::text[]) m WHERE m <> ALL (s.amr))
    FROM users u
   WHERE s.id = $1 AND s.user_id = $2 AND u.id = s.user_id AND ${live('s', '$4')} AND ${unlocked('u')}
  RETURNING s.amr, s.authenticated_at AS "authenticatedAt"`);

// Under a transaction-scoped advisory lock: while one instance holds it, another's batch deletes nothing (`held: false`).
const PURGE = statement('purge', `
  WITH lock AS (SELECT pg_try_advisory_xact_lock($1) AS held),
  doomed AS (
    SELECT s.id FROM sessions s, lock
     WHERE lock.held AND (s.revoked_at < $2 OR s.expires_at < $2 OR s.last_used_at < $2 - make_interval(secs => $3))
     LIMIT $4
  ), deleted AS (
    DELETE FROM sessions WHERE id IN (SELECT id FROM doomed) RETURNING 1
  )
  SELECT (SELECT held FROM lock) AS held, (SELECT count(*)::int FROM deleted) AS deleted`);


/** The one writer of `sessions`: one statement, one round trip per operation; no app logic. */
@Injectable()
export class SessionsRepository {
  private readonly idle: number;

  constructor(
    private readonly database: Database,
    policy: SessionPolicy,
  ) {
    this.idle = policy.idleSeconds;
  }

  /** Null when the user's session epoch is no longer `epoch`, or the user is locked or gone. */
  async open(userId: string, epoch: number, amr: readonly Amr[], expiresAt: Date, who: Requester, refreshHash: Buffer, accessExpiresAt: Date): Promise<string | null> {
    const [row] = await this.database.query<{ id: string }>(OPEN, [
      userId,
      expiresAt,
      who.ip,
      who.userAgent,
      auditRequestId(who.requestId),
      refreshHash,
      accessExpiresAt,
      epoch,
      amr,
    ]);
    return row?.id ?? null;
  }

  findLive(ids: readonly string[]): Promise<Array<LiveSession & { stale: boolean }>> {
    return this.database.query(FIND_LIVE, [ids, this.idle]);
  }

  async touch(ids: readonly string[]): Promise<void> {
    await this.database.query(TOUCH, [ids]);
  }

  async endEach(batch: readonly Ending[]): Promise<boolean[]> {
    const rows = await this.database.query<{ id: string }>(END_EACH, [
      batch.map((e) => e.sessionId),
      batch.map((e) => e.userId),
      batch.map((e) => e.reason),
      batch.map((e) => END_REASONS[e.reason].event),
      batch.map((e) => e.who.ip),
      batch.map((e) => e.who.userAgent),
      batch.map((e) => auditRequestId(e.who.requestId)),
      batch.map((e) => JSON.stringify({ ...END_REASONS[e.reason].details, revokedSessions: 1 })),
      batch.map((_, i) => i),
      this.idle,
    ]);
    const ended = new Set(rows.map((r) => r.id));
    // The statement let the first request for each session win; the same here.
    const first = new Map<string, number>();
    batch.forEach((e, i) => first.has(e.sessionId) || first.set(e.sessionId, i));
    return batch.map((e, i) => ended.has(e.sessionId) && first.get(e.sessionId) === i);
  }

  async endAll(userId: string, except: string | null, current: string | null, reason: ManyEndReason, who: Requester): Promise<number> {
    const { event, details } = END_REASONS[reason];
    const [row] = await this.database.query<{ count: number }>(END_ALL, [
      userId,
      except,
      reason,
      event,
      current,
      who.ip,
      who.userAgent,
      auditRequestId(who.requestId),
      JSON.stringify(details),
      this.idle,
    ]);
    return row!.count;
  }

  async ownerOfLive(id: string): Promise<string | undefined> {
    const [row] = await this.database.query<{ userId: string }>(`SELECT user_id AS "userId" FROM sessions s WHERE s.id = $1 AND ${live('s', '$2')}`, [id, this.idle]);
    return row?.userId;
  }

  listLive(userId: string, limit: number, after?: PageKey): Promise<SessionView[]> {
    return this.database.query(LIST_LIVE, [userId, this.idle, limit, after?.at ?? null, after?.id ?? null]);
  }

  listEnded(userId: string, limit: number, after?: PageKey): Promise<SessionView[]> {
    return this.database.query(LIST_ENDED, [userId, this.idle, limit, after?.at ?? null, after?.id ?? null]);
  }

  async rotate(sessionId: string, generation: number, presentedHash: Buffer, nextHash: Buffer, accessUntil: Date): Promise<(LiveSession & { accessExpiresAt: Date }) | null> {
    const [row] = await this.database.query<LiveSession & { accessExpiresAt: Date }>(ROTATE, [sessionId, presentedHash, nextHash, this.idle, generation, accessUntil]);
    return row ?? null;
  }

  async reissue(sessionId: string, accessUntil: Date): Promise<Date | null> {
    const [row] = await this.database.query<{ accessExpiresAt: Date }>(REISSUE, [sessionId, this.idle, accessUntil]);
    return row?.accessExpiresAt ?? null;
  }

  async refreshState(sessionId: string, graceSeconds: number): Promise<RefreshState | null> {
    const [row] = await this.database.query<RefreshState>(REFRESH_STATE, [sessionId, this.idle, graceSeconds]);
    return row ?? null;
  }

  async raise(sessionId: string, userId: string, amr: readonly Amr[]): Promise<{ amr: Amr[]; authenticatedAt: Date } | null> {
    const [row] = await this.database.query<{ amr: Amr[]; authenticatedAt: Date }>(RAISE, [sessionId, userId, amr, this.idle]);
    return row ?? null;
  }

  async purgeBatch(lockKey: bigint, endedBefore: Date, batchSize: number): Promise<{ held: boolean; deleted: number }> {
    const [row] = await this.database.query<{ held: boolean; deleted: number }>(PURGE, [
      lockKey.toString(),
      endedBefore,
      this.idle,
      batchSize,
    ]);
    return row!;
  }
}
