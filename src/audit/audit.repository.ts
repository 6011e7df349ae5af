import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';
import type { AuditDetails, AuditEventName } from './audit-event.js';

/** Who asked, as the audit row records it. */
export interface Requester {
  /** Null when what a trusted proxy forwarded is not an address. */
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

/**
 * The one writer of `audit_events`. A change that is audited writes its row in the same
 * statement (sessions.repository.ts embeds INSERT_AUDIT) or the same transaction (`record` inside
 * `Database.transaction`), so the row commits with what it records.
 */
export const INSERT_AUDIT = 'INSERT INTO audit_events (event, user_id, session_id, ip, user_agent, request_id, details)';

/** A request id as the column holds it. */
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
