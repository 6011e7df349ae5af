import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { RequestContext } from '../common/request-context.js';
import { Session } from './session.entity.js';

/** The one place where sessions are created, looked up and revoked. */
@Injectable()
export class SessionsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** Inside the caller's transaction (login writes its audit row in the same one). */
  async create(manager: EntityManager, userId: string, expiresAt: Date, ctx: RequestContext): Promise<Session> {
    const session = manager.create(Session, {
      userId,
      expiresAt,
      revokedAt: null,
      ip: ctx.ip,
      userAgent: ctx.userAgent,
    });
    await manager.insert(Session, session);
    return session;
  }

  /** True when the session exists, belongs to the user, is not revoked and has not expired. */
  async isActive(sessionId: string, userId: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM sessions
        WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now()`,
      [sessionId, userId],
    );
    return rows.length === 1;
  }

  /**
   * Revokes an active session and records the logout, in one transaction. Only one caller can
   * flip `revoked_at` from null, so among simultaneous logouts of one session exactly one gets
   * true (and one audit row); the others get false.
   */
  async revoke(sessionId: string, userId: string, ctx: RequestContext): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const result = await manager
        .createQueryBuilder()
        .update(Session)
        .set({ revokedAt: () => 'now()' })
        .where('id = :sessionId AND user_id = :userId AND revoked_at IS NULL', { sessionId, userId })
        .execute();
      if (result.affected !== 1) return false;
      await this.audit.record(manager, { event: 'logout', userId, sessionId, details: { scope: 'current' } }, ctx);
      return true;
    });
  }
}
