import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';
import type { Requester } from '../http/requester.js';
import type { AuditDetails, AuditEventName } from './audit-event.js';


// Embedded in the statement it audits, or `record` in its transaction: the row commits with what it records.
export const INSERT_AUDIT = 'INSERT INTO audit_events (event, user_id, session_id, ip, user_agent, request_id, details)';

export const auditRequestId = (requestId: string): string => requestId.slice(0, 128);

const RECORD = {
  name: 'audit-record',
  text: `${INSERT_AUDIT} VALUES ($1, $2, $3, $4, $5, $6, $7)`,
};

export interface AuditEntry {
  event: AuditEventName;
  userId?: string | null;
  sessionId?: string | null;
  details?: AuditDetails;
}

@Injectable()
export class AuditRepository {
  constructor(private readonly database: Database) {}

  list(filter: { userId?: string; event?: string; after?: { at: string; id: string } }, limit: number): Promise<AuditRow[]> {
    return this.database.query<AuditRow>(
      `SELECT id, event, user_id AS "userId", session_id AS "sessionId", ip, user_agent AS "userAgent", request_id AS "requestId",
              details, created_at AS "createdAt", created_at::text AS "pageKey"
         FROM audit_events
        WHERE ($1::uuid IS NULL OR user_id = $1) AND ($2::text IS NULL OR event = $2)
          AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $5`,
      [filter.userId ?? null, filter.event ?? null, filter.after?.at ?? null, filter.after?.id ?? null, limit],
    );
  }

  async record(entry: AuditEntry, who: Requester): Promise<void> {
    await this.database.query(RECORD, [
      entry.event,
      entry.userId ?? null,
      entry.sessionId ?? null,
      who.ip,
      who.userAgent,
      auditRequestId(who.requestId),
      entry.details ?? {},
    ]);
  }
}

export interface AuditRow {
  id: string;
  event: AuditEventName;
  userId: string | null;
  sessionId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: AuditDetails;
  createdAt: Date;
  /** Text, so that the microseconds survive the round trip. */
  pageKey: string;
}
