import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { Database } from '../database/database.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import type { Requester } from '../http/requester.js';
import { FactorFailuresService } from '../rate-limit/factor-failures.service.js';
import type { Amr } from '../sessions/amr.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { verifyPassword } from '../users/password-hasher.js';
import { UsersRepository } from '../users/users.repository.js';
import { FactorsRepository } from './factors.repository.js';
import { methodOf, type SecondFactorProof, SecondFactorService } from './second-factor.service.js';

export type StepUpProof = SecondFactorProof | { password: string };

export const PASSWORD_NOT_ENOUGH = 'Con un segundo factor activo, la contraseña no basta: envíe code, recoveryCode o webauthn';

/** RFC 9470: a factor proved again raises this session only (its amr and authenticatedAt). */
@Injectable()
export class StepUpService {
  constructor(
    private readonly factors: FactorsRepository,
    private readonly secondFactor: SecondFactorService,
    private readonly failures: FactorFailuresService,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly audit: AuditRepository,
    private readonly database: Database,
  ) {}

  async stepUp(userId: string, sessionId: string, proof: StepUpProof, who: Requester): Promise<{ amr: Amr[]; authenticatedAt: Date }> {
    await this.failures.check(userId);
    const method = 'password' in proof ? 'password' : methodOf(proof);
    const amr = 'password' in proof ? await this.password(userId, proof.password) : await this.secondFactor.prove(userId, proof);
    if (!amr) {
      await this.failures.failed(userId);
      await this.audit.record({ event: 'mfa_failed', userId, sessionId, details: { method, stage: 'step_up' } }, who);
      throw new AppException(method === 'password' ? ErrorCode.InvalidCredentials : ErrorCode.InvalidMfaCode);
    }
    const raised = await this.database.transaction(async () => {
      const raised = await this.sessions.raise(sessionId, userId, amr);
      if (raised) await this.audit.record({ event: 'step_up', userId, sessionId, details: { method } }, who);
      return raised;
    });
    // Ended since the guard looked it up: a session that is over cannot be raised.
    if (!raised) throw new AppException(ErrorCode.InvalidToken);
    return raised;
  }

  // The password proves only for a user without factors: with one, it is the factor that must be shown.
  private async password(userId: string, password: string): Promise<Amr[] | null> {
    if ((await this.factors.activeTypesOf(userId)).length) throw new AppException(ErrorCode.InvalidRequest, { errors: [PASSWORD_NOT_ENOUGH] });
    const stored = await this.users.passwordHashOf(userId);
    return stored && (await verifyPassword(password, stored)) ? ['pwd'] : null;
  }
}
