import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import type { RequestContext } from '../common/request-context.js';

/** A live session, with what a request needs of its user. */
export interface ActiveSession {
  id: string;
  userId: string;
  email: string;
  expiresAt: Date;
}

/** Why a session was ended by someone (`sessions.ended_reason`). */
export type EndReason = 'logout' | 'logout_others' | 'logout_all' | 'revoked_by_id' | 'password_changed' | 'refresh_reuse';
/** The audit event that records it. */
export type EndEvent = 'logout' | 'session_revoked' | 'password_changed' | 'refresh_reuse';

/** A session as its user sees it in the list. */
export interface SessionView {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  endedAt?: Date;
  endReason?: string;
}

/** What the refresh path needs to know about a session and its refresh token. */
export interface RefreshState extends ActiveSession {
  live: boolean;
  refreshHash: Buffer | null;
  previousRefreshHash: Buffer | null;
  generation: number;
  inGrace: boolean;
}

/**
 * A session is live while nobody ended it, its absolute lifetime has not run out, and it was
 * used within the idle timeout. `$idle` is the idle timeout in seconds.
 */
const live = (s: string, idle: string) =>
  `${s}.revoked_at IS NULL AND ${s}.expires_at > now() AND ${s}.last_used_at > now() - make_interval(secs => ${idle})`;

const AUDIT_COLUMNS = 'event, user_id, session_id, ip, user_agent, request_id, details';

const OPEN = `
  WITH opened AS (
    INSERT INTO sessions (user_id, expires_at, ip, user_agent, refresh_token_hash) VALUES ($1, $2, $3, $4, $6)
    RETURNING id, user_id
  )
  INSERT INTO audit_events (${AUDIT_COLUMNS})
  SELECT 'login', user_id, id, $3, $4, $5, '{}' FROM opened
  RETURNING session_id AS id`;

// `stale`: last written over a minute ago, so the caller writes last_used_at again.
const FIND_ACTIVE = `
  SELECT s.id, s.user_id AS "userId", u.email, s.expires_at AS "expiresAt",
         s.last_used_at < now() - interval '60 seconds' AS stale
    FROM sessions s JOIN users u ON u.id = s.user_id
   WHERE s.id = ANY($1::uuid[]) AND ${live('s', '$2')}`;

// Never more than once a minute per session, whichever instance and however many requests.
const TOUCH = `
  UPDATE sessions SET last_used_at = now()
   WHERE id = ANY($1::uuid[]) AND last_used_at < now() - interval '60 seconds'`;

// Several single-session ends in one statement, and one commit. Only the row whose revoked_at
// this statement flips from null gets an audit row, and of the requests for one session in one
// batch only the first (lowest ord) can: among simultaneous ends of a session exactly one wins.
const END_ONE = `
  WITH asked AS (
    SELECT DISTINCT ON (session_id) *
      FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::int[])
        AS a(session_id, user_id, reason, event, ip, user_agent, request_id, details, ord)
     ORDER BY session_id, ord
  ), ended AS (
    UPDATE sessions s SET revoked_at = now(), ended_reason = a.reason
      FROM asked a
     WHERE s.id = a.session_id AND s.user_id = a.user_id AND ${live('s', '$10')}
    RETURNING s.id, s.user_id, a.event, a.ip, a.user_agent, a.request_id, a.details
  )
  INSERT INTO audit_events (${AUDIT_COLUMNS})
  SELECT event, user_id, id, ip, user_agent, request_id, details FROM ended
  RETURNING session_id AS id`;

// Every live session of a user (but one, when $2 is set), and one audit row with the count.
const END_MANY = `
  WITH ended AS (
    UPDATE sessions s SET revoked_at = now(), ended_reason = $3
     WHERE s.user_id = $1 AND ($2::uuid IS NULL OR s.id <> $2::uuid) AND ${live('s', '$10')}
    RETURNING s.id
  )
  INSERT INTO audit_events (${AUDIT_COLUMNS})
  SELECT $4, $1, $5, $6, $7, $8, $9::jsonb || jsonb_build_object('revokedSessions', (SELECT count(*) FROM ended))
  RETURNING (details->>'revokedSessions')::int AS count`;

const LIST_LIVE = `
  SELECT id, created_at AS "createdAt", last_used_at AS "lastUsedAt", expires_at AS "expiresAt", ip, user_agent AS "userAgent"
    FROM sessions s
   WHERE s.user_id = $1 AND ${live('s', '$2')}
   ORDER BY created_at DESC, id
   LIMIT $3`;

// A session that ran out was ended by the first of its two clocks.
const LIST_ENDED = `
  SELECT * FROM (
    SELECT id, created_at AS "createdAt", last_used_at AS "lastUsedAt", expires_at AS "expiresAt", ip, user_agent AS "userAgent",
           CASE WHEN revoked_at IS NOT NULL THEN revoked_at
                ELSE LEAST(expires_at, last_used_at + make_interval(secs => $2)) END AS "endedAt",
           CASE WHEN revoked_at IS NOT NULL THEN ended_reason
                WHEN last_used_at + make_interval(secs => $2) < expires_at THEN 'idle_timeout'
                ELSE 'expired' END AS "endReason"
      FROM sessions s
     WHERE s.user_id = $1 AND NOT (${live('s', '$2')})
  ) ended
  ORDER BY "endedAt" DESC, id
  LIMIT $3`;

// Rotation: only while the presented hash is the current one, so of simultaneous refreshes of
// one token exactly one rotates; the others find it as the previous one (see SessionsService).
const ROTATE = `
  UPDATE sessions s
     SET previous_refresh_token_hash = s.refresh_token_hash, refresh_token_hash = $3,
         refresh_generation = s.refresh_generation + 1, refreshed_at = now(), last_used_at = now()
    FROM users u
   WHERE s.id = $1 AND s.refresh_token_hash = $2 AND s.refresh_generation = $5 AND u.id = s.user_id AND ${live('s', '$4')}
  RETURNING s.id, s.user_id AS "userId", u.email, s.expires_at AS "expiresAt"`;

const REFRESH_STATE = `
  SELECT s.id, s.user_id AS "userId", u.email, s.expires_at AS "expiresAt", ${live('s', '$2')} AS live,
         s.refresh_token_hash AS "refreshHash", s.previous_refresh_token_hash AS "previousRefreshHash",
         s.refresh_generation AS generation, s.refreshed_at > now() - make_interval(secs => $3) AS "inGrace"
    FROM sessions s JOIN users u ON u.id = s.user_id
   WHERE s.id = $1`;

// One batch of the retention job, under a transaction-scoped advisory lock: while one instance
// holds it, another's batch deletes nothing and reports `held: false`.
const PURGE = `
  WITH lock AS (SELECT pg_try_advisory_xact_lock($1) AS held),
  doomed AS (
    SELECT s.id FROM sessions s, lock
     WHERE lock.held AND (s.revoked_at < $2 OR s.expires_at < $2 OR s.last_used_at < $2 - make_interval(secs => $3))
     LIMIT $4
  ), deleted AS (
    DELETE FROM sessions WHERE id IN (SELECT id FROM doomed) RETURNING 1
  )
  SELECT (SELECT held FROM lock) AS held, (SELECT count(*)::int FROM deleted) AS deleted`;

/** One session to end: which, whose, why, who asked, what to audit. */
export interface Ending {
  sessionId: string;
  userId: string;
  reason: EndReason;
  event: EndEvent;
  who: RequestContext;
  details: Record<string, unknown>;
}

/**
 * The session lifecycle's SQL: one statement per operation, each a single round trip, on the
 * DataSource's own pool (or the caller's transaction). Not named prepared statements: the
 * embedded database is one backend behind its socket, so statements prepared on a connection the
 * pool closed outlive it there, and preparing them again on the next connection fails (42P05).
 * Audit rows are written by the same statement as the change they record, so they commit with it.
 */
@Injectable()
export class SessionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }

  private async run<T>(text: string, values: unknown[], transaction?: QueryRunner): Promise<T[]> {
    if (transaction) return (await transaction.query(text, values, true)).records as T[];
    // Not pool.query: it closes the connection after any failed statement, and the embedded
    // database, serving one connection, can still be holding the old one when the next arrives.
    // A statement the server refused (it has a severity) leaves the connection fine.
    // A checked-out client has no error listener of the pool's: a connection that drops
    // mid-statement would emit an unhandled 'error' and end the process (pool.query has one).
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => void (broken = err);
    client.on('error', onError);
    try {
      return (await client.query(text, values)).rows as T[];
    } catch (err) {
      if (!(err as { severity?: string }).severity) broken = err as Error;
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async open(userId: string, expiresAt: Date, who: RequestContext, refreshHash: Buffer): Promise<string> {
    const [row] = await this.run<{ id: string }>(OPEN, [
      userId,
      expiresAt,
      who.ip,
      who.userAgent,
      who.requestId.slice(0, 128),
      refreshHash,
    ]);
    return row!.id;
  }

  findActive(ids: readonly string[], idleSeconds: number): Promise<Array<ActiveSession & { stale: boolean }>> {
    return this.run(FIND_ACTIVE, [ids, idleSeconds]);
  }

  async touch(ids: readonly string[]): Promise<void> {
    await this.run(TOUCH, [ids]);
  }

  /** For each ending, in order, how many sessions it ended (1 or 0). */
  async endOne(batch: readonly Ending[], idleSeconds: number): Promise<number[]> {
    const rows = await this.run<{ id: string }>(END_ONE, [
      batch.map((e) => e.sessionId),
      batch.map((e) => e.userId),
      batch.map((e) => e.reason),
      batch.map((e) => e.event),
      batch.map((e) => e.who.ip),
      batch.map((e) => e.who.userAgent),
      batch.map((e) => e.who.requestId.slice(0, 128)),
      batch.map((e) => JSON.stringify(e.details)),
      batch.map((_, i) => i),
      idleSeconds,
    ]);
    const ended = new Set(rows.map((r) => r.id));
    // The statement let the first request for each session win; the same here.
    const first = new Map<string, number>();
    batch.forEach((e, i) => first.has(e.sessionId) || first.set(e.sessionId, i));
    return batch.map((e, i) => (ended.has(e.sessionId) && first.get(e.sessionId) === i ? 1 : 0));
  }

  /** Ends every live session of the user but `except` (when given): how many. */
  async endMany(
    userId: string,
    except: string | null,
    ending: Omit<Ending, 'sessionId' | 'userId'> & { auditSessionId: string | null },
    idleSeconds: number,
    transaction?: QueryRunner,
  ): Promise<number> {
    const { who } = ending;
    const [row] = await this.run<{ count: number }>(
      END_MANY,
      [
        userId,
        except,
        ending.reason,
        ending.event,
        ending.auditSessionId,
        who.ip,
        who.userAgent,
        who.requestId.slice(0, 128),
        JSON.stringify(ending.details),
        idleSeconds,
      ],
      transaction,
    );
    return row!.count;
  }

  listLive(userId: string, idleSeconds: number, limit: number): Promise<SessionView[]> {
    return this.run(LIST_LIVE, [userId, idleSeconds, limit]);
  }

  listEnded(userId: string, idleSeconds: number, limit: number): Promise<SessionView[]> {
    return this.run(LIST_ENDED, [userId, idleSeconds, limit]);
  }

  async rotate(
    sessionId: string,
    generation: number,
    presentedHash: Buffer,
    nextHash: Buffer,
    idleSeconds: number,
  ): Promise<ActiveSession | null> {
    const [row] = await this.run<ActiveSession>(ROTATE, [sessionId, presentedHash, nextHash, idleSeconds, generation]);
    return row ?? null;
  }

  async refreshState(sessionId: string, idleSeconds: number, graceSeconds: number): Promise<RefreshState | null> {
    const [row] = await this.run<RefreshState>(REFRESH_STATE, [sessionId, idleSeconds, graceSeconds]);
    return row ?? null;
  }

  async purgeBatch(lockKey: bigint, endedBefore: Date, idleSeconds: number, batchSize: number): Promise<{ held: boolean; deleted: number }> {
    const [row] = await this.run<{ held: boolean; deleted: number }>(PURGE, [lockKey.toString(), endedBefore, idleSeconds, batchSize]);
    return row!;
  }
}
