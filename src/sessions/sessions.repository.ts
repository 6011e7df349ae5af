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

// Only the statement that flips revoked_at from null writes the audit row: among simultaneous
// logouts of one session, exactly one returns a row.
const REVOKE = `
  WITH revoked AS (
    UPDATE sessions SET revoked_at = now()
     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL
    RETURNING id, user_id
  )
  INSERT INTO audit_events (event, user_id, session_id, ip, user_agent, request_id, details)
  SELECT 'logout', user_id, id, $3, $4, $5, $6::jsonb FROM revoked
  RETURNING session_id AS id`;

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

  async revoke(sessionId: string, userId: string, who: RequestContext, details: Record<string, unknown>): Promise<number> {
    const rows = await this.run(REVOKE, [
      sessionId,
      userId,
      who.ip,
      who.userAgent,
      who.requestId.slice(0, 128),
      JSON.stringify(details),
    ]);
    return rows.length;
  }
}
