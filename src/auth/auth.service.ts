import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AuthConfig } from './auth.config.js';
import { AuditRepository, type Requester } from '../audit/audit.repository.js';
import { Database, isUniqueViolation } from '../database/database.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { RefreshTokensService } from '../sessions/refresh-tokens.service.js';
import type { ListedSession } from '../sessions/sessions.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { hashForUnknownUser, hashPassword, verifyPassword } from '../users/password-hasher.js';
import { UsersRepository } from '../users/users.repository.js';
import { EmailVerificationService } from '../accounts/email-verification.service.js';
import { AccessTokenService } from './access-token.service.js';
import type { LogoutDto } from './dto/logout.dto.js';
import type { Principal } from './principal.js';

export interface SessionPage {
  sessions: Array<ListedSession & { current: boolean }>;
  nextCursor?: string;
}

/** A logout's outcome: whether the caller's own session ended, and how many for `others` / `all`. */
export interface LogoutResult {
  ownSession: boolean;
  revokedSessions?: number;
}

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
  /** REQUIRE_EMAIL_VERIFICATION: no login before the address is proven. */
  private readonly requireVerifiedEmail: boolean;

  constructor(
    config: AuthConfig,
    private readonly database: Database,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly audit: AuditRepository,
    private readonly tokens: AccessTokenService,
    private readonly verification: EmailVerificationService,
  ) {
    this.requireVerifiedEmail = config.REQUIRE_EMAIL_VERIFICATION;
  }

  /** Built at boot, or the first login for an unknown email would take twice as long. */
  async onModuleInit(): Promise<void> {
    await hashForUnknownUser();
  }

  async register(email: string, password: string, who: Requester): Promise<{ id: string; email: string }> {
    const passwordHash = await hashPassword(password);
    try {
      return await this.database.transaction(async () => {
        const user = await this.users.create(email, passwordHash);
        await this.audit.record({ event: 'register', userId: user.id }, who);
        await this.verification.sendLink(user.id, user.email);
        return user;
      });
    } catch (err) {
      // The unique index decides, so two simultaneous registrations cannot both succeed.
      if (isUniqueViolation(err)) throw new AppException(ErrorCode.EmailTaken);
      throw err;
    }
  }

  async login(email: string, password: string, who: Requester): Promise<SessionTokens & { sessionEnds: Date }> {
    const user = await this.users.findForLogin(email);
    // Verify against a dummy hash for unknown emails: same work, same time, same answer.
    const valid = await verifyPassword(password, user?.passwordHash ?? (await hashForUnknownUser()));
    if (!user || !valid) {
      await this.audit.record({ event: 'login_failed', userId: user?.id, details: { email } }, who);
      throw new AppException(ErrorCode.InvalidCredentials);
    }
    // Only after the password: these answers must not tell an outsider that an account exists.
    if (user.locked) throw new AppException(ErrorCode.AccountLocked);
    if (this.requireVerifiedEmail && !user.emailVerified) throw new AppException(ErrorCode.EmailNotVerified);

    const session = await this.sessions.open(user, who);
    if (!session) throw await this.overtaken(email, user.id, who);
    const access = await this.tokens.issue({ userId: user.id, sessionId: session.id }, session.accessExpiresAt);
    return { ...access, refreshToken: session.refreshToken, tokenType: 'Bearer', sessionId: session.id, sessionEnds: session.expiresAt };
  }

  /**
   * A login whose password was checked before its account was locked, deleted, or had every
   * session ended opens nothing: it answers as a login that started after (403 for a lock, else
   * 401, as for a password that no longer matches), and is audited as a failed login.
   */
  private async overtaken(email: string, userId: string, who: Requester): Promise<AppException> {
    await this.audit.record({ event: 'login_failed', userId, details: { email, reason: 'sessions_ended' } }, who);
    const now = await this.users.findForLogin(email);
    return new AppException(now?.id === userId && now.locked ? ErrorCode.AccountLocked : ErrorCode.InvalidCredentials);
  }

  /** A rotated refresh token and a fresh access token for its session; 401 for anything else. */
  async refresh(refreshToken: unknown, who: Requester): Promise<SessionTokens & { sessionEnds: Date }> {
    const refreshed = await this.refreshTokens.rotate(refreshToken, who);
    if (!refreshed) throw new AppException(ErrorCode.InvalidToken);
    const { session } = refreshed;
    const access = await this.tokens.issue({ userId: session.userId, sessionId: session.id }, refreshed.accessExpiresAt);
    return { ...access, refreshToken: refreshed.refreshToken, tokenType: 'Bearer', sessionId: session.id, sessionEnds: session.expiresAt };
  }

  /** Answered from the guard's session lookup, which brought the user's email along. */
  me({ userId, email, sessionId }: Principal): { id: string; email: string; sessionId: string } {
    return { id: userId, email, sessionId };
  }

  /**
   * `current`: ends the bearer's session, or the one of `bodyToken` when given. A body token is
   * checked exactly like the bearer token and must belong to the same user. Losing a race to
   * another logout of the same session answers 401, like any revoked token.
   * `others` / `all`: how many sessions it ended. `ownSession`: the bearer's session is among
   * those ended, so its client should forget it.
   */
  async logout(bearer: Principal, { token, scope = 'current' }: LogoutDto, who: Requester): Promise<LogoutResult> {
    if (scope !== 'current') {
      if (token !== undefined) {
        throw new AppException(ErrorCode.InvalidRequest, { errors: ['token solo se admite con scope current'] });
      }
      const revokedSessions = await this.sessions.endAll(bearer.userId, bearer.sessionId, scope === 'all' ? 'logout_all' : 'logout_others', who);
      return { ownSession: scope === 'all', revokedSessions };
    }
    let target = bearer;
    if (token !== undefined) {
      target = await this.tokens.verify(token);
      if (target.userId !== bearer.userId) throw new AppException(ErrorCode.InvalidToken);
    }
    if (!(await this.sessions.end(target.sessionId, target.userId, 'logout', who))) throw new AppException(ErrorCode.InvalidToken);
    return { ownSession: target.sessionId === bearer.sessionId };
  }

  /** A page of the caller's sessions, each with its device and whether it is the caller's. */
  async listSessions(principal: Principal, state: 'live' | 'ended', limit: number, cursor?: string): Promise<SessionPage> {
    const page = await this.sessions.listPage(principal.userId, state, limit, cursor);
    if (!page) throw new AppException(ErrorCode.InvalidRequest, { errors: ['cursor no es válido'] });
    return { ...page, sessions: page.sessions.map((s) => ({ ...s, current: s.id === principal.sessionId })) };
  }

  /**
   * One 404 for every id that is not a live session of the caller's: no hint that it exists.
   * True when the id was the caller's own session (a uuid in any case).
   */
  async endSessionById(principal: Principal, id: string, who: Requester): Promise<boolean> {
    const ended = UUID.test(id) && (await this.sessions.end(id, principal.userId, 'revoked_by_id', who));
    if (!ended) throw new AppException(ErrorCode.NotFound);
    return id.toLowerCase() === principal.sessionId;
  }

  /**
   * Checks the current password, then, in one transaction, stores the new hash and ends every
   * other session of the user (audited): how many it ended. The caller's session goes on.
   */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string, who: Requester): Promise<number> {
    const stored = await this.users.passwordHashOf(principal.userId);
    if (!stored || !(await verifyPassword(currentPassword, stored))) throw new AppException(ErrorCode.InvalidCredentials);
    const passwordHash = await hashPassword(newPassword);
    return this.database.transaction(async () => {
      await this.users.setPasswordHash(principal.userId, passwordHash);
      return this.sessions.endAll(principal.userId, principal.sessionId, 'password_changed', who);
    });
  }
}
