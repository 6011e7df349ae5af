import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Requester } from '../http/requester.js';
import { AccountsConfig } from './accounts.config.js';
import { Database } from '../database/database.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { emailVerificationMail, linkTo } from '../mail/mail-message.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { UsersRepository } from '../users/users.repository.js';
import { hashOf, newAccountToken } from './account-token.js';
import { AccountTokensRepository } from './account-tokens.repository.js';
import { INVALID_LINK } from './password-reset.service.js';

@Injectable()
export class EmailVerificationService {
  private readonly page: string;
  private readonly ttl: number;

  constructor(
    config: AccountsConfig,
    private readonly database: Database,
    private readonly users: UsersRepository,
    private readonly tokens: AccountTokensRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditRepository,
  ) {
    this.page = config.EMAIL_VERIFICATION_URL;
    this.ttl = config.EMAIL_VERIFICATION_TTL;
  }

  /** Inside the caller's transaction (registration's): the mail leaves only if it commits. */
  async sendLink(userId: string, email: string): Promise<void> {
    const { token, hash } = newAccountToken();
    await this.tokens.issue(userId, 'email_verification', hash, this.ttl);
    await this.outbox.enqueue('mail', emailVerificationMail(email, linkTo(this.page, token), this.ttl), userId);
  }

  async resend(userId: string): Promise<void> {
    const contact = await this.users.contactOf(userId);
    if (!contact || contact.emailVerified) return;
    await this.database.transaction(() => this.sendLink(userId, contact.email));
  }

  async verify(token: string, who: Requester): Promise<void> {
    await this.database.transaction(async () => {
      const userId = await this.tokens.spend('email_verification', hashOf(token));
      if (!userId) throw new AppException(ErrorCode.InvalidRequest, { errors: [INVALID_LINK] });
      await this.users.markEmailVerified(userId);
      await this.audit.record({ event: 'email_verified', userId }, who);
    });
  }
}
