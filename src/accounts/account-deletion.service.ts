import { Injectable } from '@nestjs/common';
import type { Requester } from '../http/requester.js';
import { Database } from '../database/database.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { verifyPassword } from '../users/password-hasher.js';
import { UsersRepository } from '../users/users.repository.js';

/** An account deleted by its user: nothing of it stays but the audit rows, which keep its id. */
@Injectable()
export class AccountDeletionService {
  constructor(
    private readonly database: Database,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly outbox: OutboxRepository,
  ) {}

  /**
   * With the password: every session ends (`account_deleted`, audited), then the user's row goes
   * with its sessions (addresses, user agents) and tokens, and its pending or sent mail: the
   * email is free again. One transaction.
   */
  async delete(userId: string, password: string, who: Requester): Promise<void> {
    const stored = await this.users.passwordHashOf(userId);
    if (!stored || !(await verifyPassword(password, stored))) throw new AppException(ErrorCode.InvalidCredentials);
    await this.database.transaction(async () => {
      await this.sessions.endAll(userId, null, 'account_deleted', who);
      await this.outbox.deleteForUser(userId);
      await this.users.delete(userId);
    });
  }
}
