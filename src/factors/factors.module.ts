import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { UsersModule } from '../users/users.module.js';
import { FactorRetentionJob } from './factor-retention.job.js';
import { FactorsRepository } from './factors.repository.js';
import { FactorsService } from './factors.service.js';
import { LoginChallengesService } from './login-challenges.service.js';
import { MfaChallengesRepository } from './mfa-challenges.repository.js';
import { PasskeysService } from './passkeys.service.js';
import { RecoveryCodesRepository } from './recovery-codes.repository.js';
import { RecoveryCodesService } from './recovery-codes.service.js';
import { SecondFactorService } from './second-factor.service.js';
import { StepUpService } from './step-up.service.js';
import { TotpEnrolmentService } from './totp-enrolment.service.js';
import { TotpService } from './totp.service.js';

// What the routes (auth, mfa, passkeys, admin) and the guard use; the rest stays inside.
const SHARED = [
  FactorsRepository,
  RecoveryCodesService,
  TotpService,
  TotpEnrolmentService,
  MfaChallengesRepository,
  PasskeysService,
  SecondFactorService,
  LoginChallengesService,
  StepUpService,
  FactorsService,
];

/** The life of second factors (TOTP, passkeys, recovery codes) and of a sign-in's second step; no HTTP. */
@Module({
  imports: [UsersModule, SessionsModule, AuditModule],
  providers: [...SHARED, RecoveryCodesRepository, FactorRetentionJob],
  exports: SHARED,
})
export class FactorsModule {}
