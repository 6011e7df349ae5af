import { Injectable } from '@nestjs/common';
import type { Requester } from '../http/requester.js';
import { Database } from '../database/database.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { verifyPassword } from '../users/password-hasher.js';
import { UsersRepository } from '../users/users.repository.js';

@Injectable()
export class AccountDeletionService {
  constructor(
    private readonly database: Database,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly outbox: OutboxRepository,
  ) {}

  // Nothing of the account stays but its audit rows: sessions, tokens and mail go with the user's row.
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
