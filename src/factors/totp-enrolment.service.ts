import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';
import type { Requester } from '../http/requester.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { FactorsConfig } from './factors.config.js';
import { FactorsRepository } from './factors.repository.js';
import { RecoveryCodesService } from './recovery-codes.service.js';
import { newTotpSecret, totpUri } from './totp.js';
import { TotpService } from './totp.service.js';

export interface PendingTotp {
  factorId: string;
  secret: string;
  uri: string;
}

export interface ConfirmedFactor {
  /** Only for the user's first factor. */
  recoveryCodes?: string[];
  revokedSessions: number;
}

/** A TOTP factor is pending until a first code proves the app has its secret. */
@Injectable()
export class TotpEnrolmentService {
  private readonly issuer: string;

  constructor(
    private readonly factors: FactorsRepository,
    private readonly totp: TotpService,
    private readonly recoveryCodes: RecoveryCodesService,
    private readonly sessions: SessionsService,
    private readonly database: Database,
    config: FactorsConfig,
  ) {
    this.issuer = config.MFA_ISSUER;
  }

  async enrol(userId: string, email: string, name: string): Promise<PendingTotp> {
    const secret = newTotpSecret();
    const factorId = await this.factors.insertPendingTotp(userId, name, this.totp.sealSecret(userId, secret));
    return { factorId, secret, uri: totpUri(secret, this.issuer, email) };
  }

  /**
   * Null for a wrong code or a factor that is not pending (unknown, expired, confirmed already).
   * The code's step is spent by the check, so the setup code cannot also open a login.
   */
  async confirm(userId: string, sessionId: string, factorId: string, code: string, who: Requester): Promise<ConfirmedFactor | null> {
    if (!(await this.totp.verify(userId, code, factorId))) return null;
    return this.database.transaction(async () => {
      const confirmed = await this.factors.confirm(userId, factorId);
      if (!confirmed) return null;
      const recoveryCodes = confirmed.first ? await this.recoveryCodes.issue(userId) : undefined;
      // A factor's life ends the sessions it did not protect: every other session of the user.
      const revokedSessions = await this.sessions.endAll(userId, sessionId, 'mfa_enabled', who);
      await this.sessions.raise(sessionId, userId, ['otp']);
      return { recoveryCodes, revokedSessions };
    });
  }
}
