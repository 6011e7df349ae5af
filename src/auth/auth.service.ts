import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { AppException } from '../common/app.exception.js';
import { ErrorCode } from '../common/error-code.js';
import type { RequestContext } from '../common/request-context.js';
import { type SessionView, SessionsService } from '../sessions/sessions.service.js';
import { hashForUnknownUser, hashPassword, verifyPassword } from '../users/password-hasher.js';
import { UsersService } from '../users/users.service.js';
import { AccessTokenService } from './access-token.service.js';
import type { LogoutDto } from './dto/logout.dto.js';
import type { Principal } from './principal.js';

const UNIQUE_VIOLATION = '23505';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What login and refresh answer: a new access token for the session, and its refresh token. */
export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  sessionId: string;
}

@Injectable()
export class AuthService implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly tokens: AccessTokenService,
  ) {}

  /** Built at boot, or the first login for an unknown email would take twice as long. */
  async onModuleInit(): Promise<void> {
    await hashForUnknownUser();
  }

  async register(email: string, password: string, ctx: RequestContext): Promise<{ id: string; email: string }> {
    const passwordHash = await hashPassword(password);
    try {
      return await this.dataSource.transaction(async (manager) => {
        const user = await this.users.create(manager, email, passwordHash);
        await this.audit.record(manager, { event: 'register', userId: user.id }, ctx);
        return { id: user.id, email: user.email };
      });
    } catch (err) {
      // The unique index decides, so two simultaneous registrations cannot both succeed.
      if ((err as { driverError?: { code?: string } }).driverError?.code === UNIQUE_VIOLATION) {
        throw new AppException(ErrorCode.EmailTaken);
      }
      throw err;
    }
  }

  async login(email: string, password: string, ctx: RequestContext): Promise<SessionTokens & { sessionEnds: Date }> {
    const user = await this.users.findForLogin(email);
    // Verify against a dummy hash for unknown emails: same work, same time, same answer.
    const valid = await verifyPassword(password, user?.passwordHash ?? (await hashForUnknownUser()));
    if (!user || !valid) {
      await this.audit.record(
        this.dataSource.manager,
        { event: 'login_failed', userId: user?.id, details: { email } },
        ctx,
      );
      throw new AppException(ErrorCode.InvalidCredentials);
    }

    const session = await this.sessions.open(user.id, ctx);
    const access = await this.tokens.issue({ userId: user.id, sessionId: session.id }, session.expiresAt);
    return { ...access, refreshToken: session.refreshToken, tokenType: 'Bearer', sessionId: session.id, sessionEnds: session.expiresAt };
  }

  /** A rotated refresh token and a fresh access token for its session; 401 for anything else. */
  async refresh(refreshToken: unknown, ctx: RequestContext): Promise<SessionTokens & { sessionEnds: Date }> {
    const outcome = await this.sessions.refresh(refreshToken, ctx);
    if (!outcome.ok) throw new AppException(ErrorCode.InvalidToken);
    const { session } = outcome;
    const access = await this.tokens.issue({ userId: session.userId, sessionId: session.id }, session.expiresAt);
    return { ...access, refreshToken: outcome.refreshToken, tokenType: 'Bearer', sessionId: session.id, sessionEnds: session.expiresAt };
  }

  /** Answered from the guard's session lookup, which brought the user's email along. */
  me({ userId, email, sessionId }: Principal): { id: string; email: string; sessionId: string } {
    return { id: userId, email, sessionId };
  }

  /**
   * `current`: ends the bearer's session, or the one of `bodyToken` when given. A body token is
   * checked exactly like the bearer token and must belong to the same user. Losing a race to
   * another logout of the same session answers 401, like any revoked token.
   * `others` / `all`: how many sessions it ended.
   */
  async logout(bearer: Principal, { token, scope = 'current' }: LogoutDto, ctx: RequestContext): Promise<number | undefined> {
    if (scope !== 'current') {
      if (token !== undefined) {
        throw new AppException(ErrorCode.InvalidRequest, { errors: ['token solo se admite con scope current'] });
      }
      return this.sessions.endSessions(bearer.userId, bearer.sessionId, ctx, scope === 'all' ? 'logout_all' : 'logout_others');
    }
    let target = bearer;
    if (token !== undefined) {
      target = await this.tokens.verify(token);
      if (target.userId !== bearer.userId) throw new AppException(ErrorCode.InvalidToken);
    }
    if ((await this.sessions.endSession(target.sessionId, target.userId, ctx, 'logout')) === 0) {
      throw new AppException(ErrorCode.InvalidToken);
    }
    return undefined;
  }

  async listSessions(principal: Principal, state: 'live' | 'ended'): Promise<Array<SessionView & { current: boolean }>> {
    const sessions = await this.sessions.list(principal.userId, state);
    return sessions.map((s) => ({ ...s, current: s.id === principal.sessionId }));
  }

  /** One 404 for every id that is not a live session of the caller's: no hint that it exists. */
  async endSessionById(principal: Principal, id: string, ctx: RequestContext): Promise<void> {
    const ended = UUID.test(id) ? await this.sessions.endSession(id, principal.userId, ctx, 'revoked_by_id') : 0;
    if (ended === 0) throw new AppException(ErrorCode.NotFound);
  }

  /**
   * Checks the current password, then, in one transaction, stores the new hash and ends every
   * other session of the user (audited): how many it ended. The caller's session goes on.
   */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string, ctx: RequestContext): Promise<number> {
    const stored = await this.users.passwordHashOf(principal.userId);
    if (!stored || !(await verifyPassword(currentPassword, stored))) throw new AppException(ErrorCode.InvalidCredentials);
    const passwordHash = await hashPassword(newPassword);
    return this.dataSource.transaction(async (manager) => {
      await this.users.setPasswordHash(manager, principal.userId, passwordHash);
      return this.sessions.endSessions(principal.userId, principal.sessionId, ctx, 'password_changed', manager.queryRunner);
    });
  }
}
