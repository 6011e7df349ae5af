import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { Database } from '../database/database.js';
import type { Requester } from '../http/requester.js';
import { FactorsRepository } from './factors.repository.js';
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-code.js';
import { RecoveryCodesRepository } from './recovery-codes.repository.js';

@Injectable()
export class RecoveryCodesService {
  constructor(
    private readonly repository: RecoveryCodesRepository,
    private readonly factors: FactorsRepository,
    private readonly audit: AuditRepository,
    private readonly database: Database,
  ) {}

  /** A new set, replacing the old one; the codes are shown once and stored only as hashes. */
  async issue(userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await this.repository.replace(userId, codes.map((c) => hashRecoveryCode(c)!));
    return codes;
  }

  /** Spends the code: true once, false for a used, unknown or malformed one. */
  async use(userId: string, code: unknown): Promise<boolean> {
    const hash = typeof code === 'string' ? hashRecoveryCode(code) : null;
    return hash !== null && this.repository.use(userId, hash);
  }

  remaining(userId: string): Promise<number> {
    return this.repository.remaining(userId);
  }

  /**
   * The user asks for a new set (after step-up): the old codes all die. Null for a user without a
   * confirmed factor: codes stand in for a factor, so without one they would protect nothing.
   */
  replace(userId: string, sessionId: string, who: Requester): Promise<string[] | null> {
    return this.database.transaction(async () => {
      // Locked, so a removal of the last factor in flight cannot leave codes without a factor.
      if ((await this.factors.lockConfirmed(userId)) === 0) return null;
      const codes = await this.issue(userId);
      await this.audit.record({ event: 'recovery_codes_replaced', userId, sessionId, details: { count: codes.length } }, who);
      return codes;
    });
  }

  /** With the user's last factor gone, the codes go too (in the caller's transaction). */
  voidAll(userId: string): Promise<void> {
    return this.repository.deleteAll(userId);
  }
}
