import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RequestContext } from '../common/request-context.js';
import { type AuditDetails, AuditEvent, type AuditEventName } from './audit-event.entity.js';

export interface AuditEntry {
  event: AuditEventName;
  userId?: string | null;
  sessionId?: string | null;
  details?: AuditDetails;
}

@Injectable()
export class AuditService {
  /** Takes the caller's transaction: an audit row is committed together with what it records. */
  async record(manager: EntityManager, entry: AuditEntry, ctx: RequestContext): Promise<void> {
    await manager.insert(AuditEvent, {
      event: entry.event,
      userId: entry.userId ?? null,
      sessionId: entry.sessionId ?? null,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      requestId: ctx.requestId.slice(0, 128),
      details: entry.details ?? {},
    });
  }
}
