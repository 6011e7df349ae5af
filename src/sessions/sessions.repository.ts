import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import type { RequestContext } from '../common/request-context.js';

/** A session that is neither revoked nor expired, with what a request needs of its user. */
export interface ActiveSession {
  id: string;
  userId: string;
  email: string;
  expiresAt: Date;
}

const OPEN = `
  WITH opened AS (
    INSERT INTO sessions (user_id, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4)
    RETURNING id, user_id
  )
  INSERT INTO audit_events (event, user_id, session_id, ip, user_agent, request_id)
  SELECT 'login', user_id, id, $3, $4, $5 FROM opened
  RETURNING session_id AS id`;

const FIND_ACTIVE = `
  SELECT s.id, s.user_id AS "userId", u.email, s.expires_at AS "expiresAt"
    FROM sessions s JOIN users u ON u.id = s.user_id
   WHERE s.id = ANY($1::uuid[]) AND s.revoked_at IS NULL AND s.expires_at > now()`;

// Several logouts in one statement, and one commit. Only the row whose revoked_at this statement
// flips from null gets an audit row, and of the requests for one session in one batch only the
// first (lowest ord) can: among simultaneous logouts of a session exactly one ends it.
const REVOKE = `
  WITH asked AS (
    SELECT DISTINCT ON (session_id) *
      FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::int[])
        AS a(session_id, user_id, ip, user_agent, request_id, details, ord)
     ORDER BY session_id, ord
  ), revoked AS (
    UPDATE sessions s SET revoked_at = now()
      FROM asked a
     WHERE s.id = a.session_id AND s.user_id = a.user_id AND s.revoked_at IS NULL
    RETURNING s.id, s.user_id, a.ip, a.user_agent, a.request_id, a.details
  )
  INSERT INTO audit_events (event, user_id, session_id, ip, user_agent, request_id, details)
  SELECT 'logout', user_id, id, ip, user_agent, request_id, details FROM revoked
  RETURNING session_id AS id`;

/** One logout asked for: the session, the user it must belong to, who asked, what to audit. */
export interface Revocation {
  sessionId: string;
  userId: string;
  who: RequestContext;
  details: Record<string, unknown>;
}

/**
 * The session lifecycle's SQL: one statement per operation, each a single round trip, on the
 * DataSource's own pool. Not named prepared statements: the embedded database is one backend
 * behind its socket, so statements prepared on a connection the pool closed outlive it there,
 * and preparing them again on the next connection fails (42P05). Audit rows are written by
 * the same statement as the change they record, so they commit with it.
 */
@Injectable()
export class SessionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get pool(): Pool {
    return (this.dataSource.driver as PostgresDriver).master as Pool;
  }

  private async run<T>(text: string, values: unknown[]): Promise<T[]> {
    return (await this.pool.query(text, values)).rows as T[];
  }

  async open(userId: string, expiresAt: Date, who: RequestContext): Promise<string> {
    const [row] = await this.run<{ id: string }>(OPEN, [
      userId,
      expiresAt,
      who.ip,
      who.userAgent,
      who.requestId.slice(0, 128),
    ]);
    return row!.id;
  }

  findActive(ids: readonly string[]): Promise<ActiveSession[]> {
    return this.run<ActiveSession>(FIND_ACTIVE, [ids]);
  }

  /** For each revocation, in order, how many sessions it ended (1 or 0). */
  async revoke(batch: readonly Revocation[]): Promise<number[]> {
    const rows = await this.run<{ id: string }>(REVOKE, [
      batch.map((r) => r.sessionId),
      batch.map((r) => r.userId),
      batch.map((r) => r.who.ip),
      batch.map((r) => r.who.userAgent),
      batch.map((r) => r.who.requestId.slice(0, 128)),
      batch.map((r) => JSON.stringify(r.details)),
      batch.map((_, i) => i),
    ]);
    const ended = new Set(rows.map((r) => r.id));
    // The statement let the first request for each session win; the same here.
    const first = new Map<string, number>();
    batch.forEach((r, i) => first.has(r.sessionId) || first.set(r.sessionId, i));
    return batch.map((r, i) => (ended.has(r.sessionId) && first.get(r.sessionId) === i ? 1 : 0));
  }
}
