import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { OutboxModule } from '../outbox/outbox.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { AccountDeletionService } from './account-deletion.service.js';
import { AccountTokensRepository } from './account-tokens.repository.js';
import { AccountController } from './account.controller.js';
import { EmailVerificationController } from './email-verification.controller.js';
import { EmailVerificationService } from './email-verification.service.js';
import { PasswordResetService } from './password-reset.service.js';
import { RecoveryController } from './recovery.controller.js';
import { RegistrationController } from './registration.controller.js';
import { RegistrationService } from './registration.service.js';

@Module({
  imports: [UsersModule, SessionsModule, AuditModule, OutboxModule],
  controllers: [RegistrationController, RecoveryController, EmailVerificationController, AccountController],
  providers: [RegistrationService, AccountTokensRepository, PasswordResetService, EmailVerificationService, AccountDeletionService],
})
export class AccountsModule {}
