import { Injectable } from '@nestjs/common';
import { AuditRepository, type AuditRow } from '../audit/audit.repository.js';
import type { Requester } from '../http/requester.js';
import { Database } from '../database/database.js';
import { decodeCursor, encodeCursor } from '../database/page-cursor.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { FactorsService } from '../factors/factors.service.js';
import { type ListedSession, SessionsService } from '../sessions/sessions.service.js';
import { type AdminUserView, UsersRepository } from '../users/users.repository.js';
import type { DeliveryView } from '../webhooks/webhooks.repository.js';
import { type DeliveryStatus, type ListedEndpoint, WebhooksService } from '../webhooks/webhooks.service.js';

export interface Operator extends Requester {
  admin: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const notFound = () => new AppException(ErrorCode.NotFound);
const badCursor = () => new AppException(ErrorCode.InvalidRequest, { errors: ['after no es válido'] });

// Each action one transaction with its `admin_action` audit row; whatever ends access ends every session.
@Injectable()
export class AdminService {
  constructor(
    private readonly database: Database,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly audit: AuditRepository,
    private readonly webhooks: WebhooksService,
    private readonly factors: FactorsService,
  ) {}

  findUsers(email: string | undefined): Promise<AdminUserView[]> {
    return this.users.find(email, 50);
  }

  async listSessions(userId: string, state: 'live' | 'ended', limit: number, cursor?: string): Promise<{ sessions: ListedSession[]; nextCursor?: string }> {
    await this.mustExist(userId);
    const page = await this.sessions.listPage(userId, state, limit, cursor);
    if (!page) throw new AppException(ErrorCode.InvalidRequest, { errors: ['cursor no es válido'] });
    return page;
  }

  async endSessions(userId: string, who: Operator): Promise<number> {
    await this.mustExist(userId);
    return this.database.transaction(async () => {
      const revokedSessions = await this.sessions.endAll(userId, null, 'admin_revoked', who);
      await this.record('end_sessions', userId, null, who, { revokedSessions });
      return revokedSessions;
    });
  }

  /** For a user who lost every factor and code: what is left is the password, so every session ends (mfa_reset). */
  async resetFactors(userId: string, who: Operator): Promise<number> {
    await this.mustExist(userId);
    return this.database.transaction(async () => {
      const { removedFactors, revokedSessions } = await this.factors.reset(userId, who);
      await this.record('reset_factors', userId, null, who, { removedFactors, revokedSessions });
      return revokedSessions;
    });
  }

  async endSession(sessionId: string, who: Operator): Promise<void> {
    const userId = UUID.test(sessionId) ? await this.sessions.ownerOfLive(sessionId) : undefined;
    if (!userId) throw notFound();
    await this.database.transaction(async () => {
      if (!(await this.sessions.end(sessionId, userId, 'admin_revoked', who))) throw notFound();
      await this.record('end_session', userId, sessionId, who);
    });
  }

  async lock(userId: string, who: Operator): Promise<number> {
    return this.database.transaction(async () => {
      if (!(UUID.test(userId) && (await this.users.setLocked(userId, true)))) throw notFound();
      const revokedSessions = await this.sessions.endAll(userId, null, 'account_locked', who);
      await this.record('lock', userId, null, who, { revokedSessions });
      return revokedSessions;
    });
  }

  async unlock(userId: string, who: Operator): Promise<void> {
    await this.database.transaction(async () => {
      if (!(UUID.test(userId) && (await this.users.setLocked(userId, false)))) throw notFound();
      await this.record('unlock', userId, null, who);
    });
  }

  async setRoles(userId: string, roles: string[], who: Operator): Promise<void> {
    await this.database.transaction(async () => {
      if (!(UUID.test(userId) && (await this.users.setRoles(userId, roles)))) throw notFound();
      await this.record('set_roles', userId, null, who, { roles: roles.join(',') });
    });
  }

  async auditLog(filter: { userId?: string; event?: string; after?: string }, limit: number): Promise<{ events: Omit<AuditRow, 'pageKey'>[]; nextCursor?: string }> {
    const after = filter.after === undefined ? undefined : decodeCursor('audit', filter.after);
    if (filter.after !== undefined && !after) throw badCursor();
    const rows = await this.audit.list({ userId: filter.userId, event: filter.event, after }, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const events = page.map(({ pageKey: _pageKey, ...row }) => row);
    return rows.length > limit && last ? { events, nextCursor: encodeCursor('audit', { at: last.pageKey, id: last.id }) } : { events };
  }

  webhookEndpoints(): Promise<ListedEndpoint[]> {
    return this.webhooks.endpoints();
  }

  async webhookDeliveries(status: DeliveryStatus | undefined, limit: number, cursor?: string): Promise<{ deliveries: DeliveryView[]; nextCursor?: string }> {
    const page = await this.webhooks.deliveries(status, limit, cursor);
    if (!page) throw new AppException(ErrorCode.InvalidRequest, { errors: ['cursor no es válido'] });
    return page;
  }

  /** A disabled endpoint (a 410, most often) is delivered to again, from the next event on. */
  async enableWebhookEndpoint(id: string, who: Operator): Promise<void> {
    await this.database.transaction(async () => {
      const endpoint = await this.webhooks.enable(id);
      if (!endpoint) throw notFound();
      await this.record('enable_webhook', null, null, who, { endpointId: id, url: endpoint.url, wasDisabled: endpoint.wasDisabled });
    });
  }

  private async mustExist(userId: string): Promise<void> {
    if (!(UUID.test(userId) && (await this.users.exists(userId)))) throw notFound();
  }

  private record(action: string, userId: string | null, sessionId: string | null, who: Operator, details: Record<string, string | number | boolean> = {}): Promise<void> {
    return this.audit.record({ event: 'admin_action', userId, sessionId, details: { action, admin: who.admin, ...details } }, who);
  }
}
