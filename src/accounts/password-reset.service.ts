import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Requester } from '../http/requester.js';
import { AccountsConfig } from './accounts.config.js';
import { Database } from '../database/database.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { linkTo, passwordResetMail } from '../mail/mail-message.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { hashPassword } from '../users/password-hasher.js';
import { UsersRepository } from '../users/users.repository.js';
import { hashOf, newAccountToken } from './account-token.js';
import { AccountTokensRepository } from './account-tokens.repository.js';

export const INVALID_LINK = 'El enlace no es válido o ha caducado';

@Injectable()
export class PasswordResetService {
  private readonly logger = new Logger(PasswordResetService.name);
  private readonly page: string;
  private readonly ttl: number;

  constructor(
    config: AccountsConfig,
    private readonly database: Database,
    private readonly users: UsersRepository,
    private readonly tokens: AccountTokensRepository,
    private readonly outbox: OutboxRepository,
    private readonly sessions: SessionsService,
    private readonly audit: AuditRepository,
  ) {
    this.page = config.PASSWORD_RESET_URL;
    this.ttl = config.PASSWORD_RESET_TTL;
  }

  // Answers before looking anything up: neither body nor timing tells whether the address has an account.
  requestReset(email: string, who: Requester): void {
    setImmediate(() => {
      this.sendLink(email, who).catch((err: unknown) => this.logger.error({ err: String(err), requestId: who.requestId }, 'Could not prepare a password reset mail'));
    });
  }

  private async sendLink(email: string, who: Requester): Promise<void> {
    const userId = await this.users.findIdByEmail(email);
    if (!userId) return;
    const { token, hash } = newAccountToken();
    await this.database.transaction(async () => {
      await this.tokens.issue(userId, 'password_reset', hash, this.ttl);
      await this.outbox.enqueue('mail', passwordResetMail(email, linkTo(this.page, token), this.ttl), userId);
      await this.audit.record({ event: 'password_reset_requested', userId }, who);
    });
  }

  // A token that is not live costs a lookup, not a hash: made-up tokens cannot buy scrypt time.
  async reset(token: string, newPassword: string, who: Requester): Promise<number> {
    const tokenHash = hashOf(token);
    if (!(await this.tokens.isLive('password_reset', tokenHash))) throw new AppException(ErrorCode.InvalidRequest, { errors: [INVALID_LINK] });
    const passwordHash = await hashPassword(newPassword);
    return this.database.transaction(async () => {
      const userId = await this.tokens.spend('password_reset', tokenHash);
      if (!userId) throw new AppException(ErrorCode.InvalidRequest, { errors: [INVALID_LINK] });
      await this.users.setPasswordHash(userId, passwordHash);
      await this.users.markEmailVerified(userId);
      return this.sessions.endAll(userId, null, 'password_reset', who);
    });
  }
}
