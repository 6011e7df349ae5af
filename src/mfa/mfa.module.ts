import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { FactorsModule } from '../factors/factors.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { FactorsController } from './factors.controller.js';
import { LoginMfaController } from './login-mfa.controller.js';
import { RecoveryCodesController } from './recovery-codes.controller.js';
import { StepUpController } from './step-up.controller.js';
import { TotpController } from './totp.controller.js';

/** The routes of second factors: enrolment, the login's second step, step-up, the factor list. */
@Module({
  imports: [AuthModule, FactorsModule, SessionsModule, AuditModule],
  controllers: [TotpController, FactorsController, RecoveryCodesController, LoginMfaController, StepUpController],
})
export class MfaModule {}
