import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { AppException } from '../common/app.exception.js';
import { ErrorCode } from '../common/error-code.js';
import type { RequestContext } from '../common/request-context.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { hashForUnknownUser, hashPassword, verifyPassword } from '../users/password-hasher.js';
import { UsersService } from '../users/users.service.js';
import { AccessTokenService } from './access-token.service.js';
import type { Principal } from './principal.js';

const UNIQUE_VIOLATION = '23505';

export interface LoginResult {
  accessToken: string;
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

  async login(email: string, password: string, ctx: RequestContext): Promise<LoginResult> {
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

    // The token expires with its session, so a live token never outlives it.
    const session = await this.sessions.open(user.id, ctx);
    const accessToken = await this.tokens.sign({ userId: user.id, sessionId: session.id }, session.expiresAt);
    return { accessToken, tokenType: 'Bearer', expiresIn: this.tokens.expiresIn, sessionId: session.id };
  }

  /** Answered from the guard's session lookup, which brought the user's email along. */
  me({ userId, email, sessionId }: Principal): { id: string; email: string; sessionId: string } {
    return { id: userId, email, sessionId };
  }

  /**
   * Ends the bearer's session, or the one of `bodyToken` when given. A body token is checked
   * exactly like the bearer token and must belong to the same user. Losing a race to another
   * logout of the same session answers 401, like any revoked token.
   */
  async logout(bearer: Principal, bodyToken: unknown, ctx: RequestContext): Promise<void> {
    let target = bearer;
    if (bodyToken !== undefined) {
      target = await this.tokens.verify(bodyToken);
      if (target.userId !== bearer.userId) throw new AppException(ErrorCode.InvalidToken);
    }
    if ((await this.sessions.revoke(target.sessionId, target.userId, ctx)) === 0) {
      throw new AppException(ErrorCode.InvalidToken);
    }
  }
}
