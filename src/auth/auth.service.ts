import type { Amr } from '../sessions/amr.js';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AuthConfig } from './auth.config.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Requester } from '../http/requester.js';
import { Database } from '../database/database.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import type { ListedSession } from '../sessions/sessions.service.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { hashForUnknownUser, hashPassword, verifyPassword } from '../users/password-hasher.js';
import { UsersRepository } from '../users/users.repository.js';
import { AccessTokenService } from './access-token.service.js';
import type { LogoutDto } from './dto/logout.dto.js';
import type { Principal } from './principal.js';
import { SignInService, type SessionTokens } from './sign-in.service.js';
import { LoginChallengesService, type MfaRequired } from '../factors/login-challenges.service.js';
import { RecoveryCodesService } from '../factors/recovery-codes.service.js';
import { methodOf, type SecondFactorProof } from '../factors/second-factor.service.js';
import { recoveryCodeUsedMail } from '../mail/mail-message.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { FactorFailuresService } from '../rate-limit/factor-failures.service.js';

export interface SessionPage {
  sessions: Array<ListedSession & { current: boolean }>;
  nextCursor?: string;
}

/** `ownSession`: the caller's own session ended, so its client should forget it. */
export interface LogoutResult {
  ownSession: boolean;
  revokedSessions?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class AuthService implements OnModuleInit {
  private readonly requireVerifiedEmail: boolean;

  constructor(
    config: AuthConfig,
    private readonly database: Database,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly audit: AuditRepository,
    private readonly tokens: AccessTokenService,
    private readonly signIn: SignInService,
    private readonly loginChallenges: LoginChallengesService,
    private readonly factorFailures: FactorFailuresService,
    private readonly recoveryCodes: RecoveryCodesService,
    private readonly outbox: OutboxRepository,
  ) {
    this.requireVerifiedEmail = config.REQUIRE_EMAIL_VERIFICATION;
  }

  /** Built at boot, or the first login for an unknown email would take twice as long. */
  async onModuleInit(): Promise<void> {
    await hashForUnknownUser();
  }

  /** Tokens, or for a user with an active factor the second step to take (no session yet). */
  async login(email: string, password: string, who: Requester): Promise<SessionTokens | MfaRequired> {
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
    const secondStep = await this.loginChallenges.open(user);
    if (secondStep) return secondStep;
    return this.signIn.signIn({ id: user.id, sessionEpoch: user.sessionEpoch, email, amr: ['pwd'] }, who);
  }

  /**
   * The second step. A dead mfaToken (unknown, expired, used, killed) answers as a wrong code: no
   * oracle. Wrong proofs count per token (5 kill it) and per user (the login limit, then 429).
   */
  async loginWithFactor(mfaToken: string, proof: SecondFactorProof, who: Requester): Promise<SessionTokens> {
    const pending = await this.loginChallenges.find(mfaToken);
    if (!pending) throw new AppException(ErrorCode.InvalidMfaCode);
    await this.factorFailures.check(pending.userId);
    const redeemed = await this.loginChallenges.redeem(pending.id, proof);
    if (redeemed.outcome === 'wrong') {
      await this.factorFailures.failed(redeemed.userId);
      const details = { method: methodOf(proof), stage: 'login', attempts: redeemed.attempts };
      await this.audit.record({ event: 'mfa_failed', userId: redeemed.userId, details }, who);
    }
    if (redeemed.outcome !== 'proved') throw new AppException(ErrorCode.InvalidMfaCode);
    const contact = await this.users.contactOf(redeemed.userId);
    if (!contact) throw new AppException(ErrorCode.InvalidMfaCode);
    const amr = ['pwd' as const, ...redeemed.amr];
    const signIn = () => this.signIn.signIn({ id: redeemed.userId, sessionEpoch: redeemed.sessionEpoch, email: contact.email, amr }, who);
    if (!('recoveryCode' in proof)) return signIn();
    // The session, the end of the others and the mail commit together, or none of them.
    return this.database.transaction(async () => {
      const tokens = await signIn();
      await this.recoveryCodeUsed(redeemed.userId, tokens.sessionId, contact.email, who);
      return tokens;
    });
  }

  // Whoever holds a recovery code may have shut the owner out: every other session ends, and the owner hears of it.
  private async recoveryCodeUsed(userId: string, sessionId: string, email: string, who: Requester): Promise<void> {
    await this.database.transaction(async () => {
      await this.sessions.endAll(userId, sessionId, 'recovery_code_used', who);
      await this.outbox.enqueue('mail', recoveryCodeUsedMail(email, await this.recoveryCodes.remaining(userId)), userId);
    });
  }

  me({ userId, email, sessionId, amr, authenticatedAt }: Principal): { id: string; email: string; sessionId: string; amr: Amr[]; authenticatedAt: Date } {
    return { id: userId, email, sessionId, amr, authenticatedAt };
  }

  // Losing a race to another logout of the same session answers 401, like any revoked token.
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

  async listSessions(principal: Principal, state: 'live' | 'ended', limit: number, cursor?: string): Promise<SessionPage> {
    const page = await this.sessions.listPage(principal.userId, state, limit, cursor);
    if (!page) throw new AppException(ErrorCode.InvalidRequest, { errors: ['cursor no es válido'] });
    return { ...page, sessions: page.sessions.map((s) => ({ ...s, current: s.id === principal.sessionId })) };
  }

  // One 404 for every id that is not a live session of the caller's: no hint that it exists.
  async endSessionById(principal: Principal, id: string, who: Requester): Promise<boolean> {
    const ended = UUID.test(id) && (await this.sessions.end(id, principal.userId, 'revoked_by_id', who));
    if (!ended) throw new AppException(ErrorCode.NotFound);
    return id.toLowerCase() === principal.sessionId;
  }

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
