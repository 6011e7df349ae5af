import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import type { Requester } from '../http/requester.js';
import { RefreshTokensService } from '../sessions/refresh-tokens.service.js';
import { type Authenticated, type OpenedSession, SessionsService } from '../sessions/sessions.service.js';
import { UsersRepository } from '../users/users.repository.js';
import { AccessTokenService } from './access-token.service.js';

export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  sessionId: string;
  sessionEnds: Date;
}

export interface SigningIn extends Authenticated {
  email: string;
}

// Every way in ends in signIn and every refresh in refresh, so they answer the same tokens.
@Injectable()
export class SignInService {
  constructor(
    private readonly sessions: SessionsService,
    private readonly refreshTokens: RefreshTokensService,
    private readonly accessTokens: AccessTokenService,
    private readonly users: UsersRepository,
    private readonly audit: AuditRepository,
  ) {}

  async signIn(user: SigningIn, who: Requester): Promise<SessionTokens> {
    const session = await this.sessions.open(user, who);
    if (!session) throw await this.overtaken(user, who);
    return this.tokensOf(user.id, session, session.refreshToken, session.accessExpiresAt);
  }

  async refresh(refreshToken: unknown, who: Requester): Promise<SessionTokens> {
    const refreshed = await this.refreshTokens.rotate(refreshToken, who);
    if (!refreshed) throw new AppException(ErrorCode.InvalidToken);
    return this.tokensOf(refreshed.session.userId, refreshed.session, refreshed.refreshToken, refreshed.accessExpiresAt);
  }

  // A proof overtaken by a lock, deletion or end of all answers as one checked after (403 for a lock, else 401).
  private async overtaken({ id, email }: SigningIn, who: Requester): Promise<AppException> {
    await this.audit.record({ event: 'login_failed', userId: id, details: { email, reason: 'sessions_ended' } }, who);
    const now = await this.users.findForLogin(email);
    return new AppException(now?.id === id && now.locked ? ErrorCode.AccountLocked : ErrorCode.InvalidCredentials);
  }

  private async tokensOf(userId: string, session: Pick<OpenedSession, 'id' | 'expiresAt'>, refreshToken: string, accessExpiresAt: Date): Promise<SessionTokens> {
    const access = await this.accessTokens.issue({ userId, sessionId: session.id }, accessExpiresAt);
    return { ...access, refreshToken, tokenType: 'Bearer', sessionId: session.id, sessionEnds: session.expiresAt };
  }
}
