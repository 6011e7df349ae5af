import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { Database, isUniqueViolation } from '../database/database.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import type { Requester } from '../http/requester.js';
import { hashPassword } from '../users/password-hasher.js';
import { UsersRepository } from '../users/users.repository.js';
import { EmailVerificationService } from './email-verification.service.js';

@Injectable()
export class RegistrationService {
  constructor(
    private readonly database: Database,
    private readonly users: UsersRepository,
    private readonly audit: AuditRepository,
    private readonly verification: EmailVerificationService,
  ) {}

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
}
