import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';
import type { Requester } from '../http/requester.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { FactorsRepository, type ListedFactor } from './factors.repository.js';
import { RecoveryCodesService } from './recovery-codes.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A user's factors as a whole: the list, a removal, an operator's reset. */
@Injectable()
export class FactorsService {
  constructor(
    private readonly factors: FactorsRepository,
    private readonly recoveryCodes: RecoveryCodesService,
    private readonly sessions: SessionsService,
    private readonly database: Database,
  ) {}

  list(userId: string): Promise<ListedFactor[]> {
    return this.factors.listConfirmed(userId);
  }

  /**
   * Null when `factorId` is not a confirmed factor of the user (unknown, another user's, malformed).
   * A factor's end ends the sessions it did not open here: every other session of the user.
   */
  remove(userId: string, sessionId: string, factorId: string, who: Requester): Promise<{ revokedSessions: number } | null> {
    if (!UUID.test(factorId)) return Promise.resolve(null);
    return this.database.transaction(async () => {
      const removed = await this.factors.removeConfirmed(userId, factorId.toLowerCase());
      if (!removed) return null;
      // Codes stand in for a factor: with none left they would be a way in that protects nothing.
      if (removed.remaining === 0) await this.recoveryCodes.voidAll(userId);
      return { revokedSessions: await this.sessions.endAll(userId, sessionId, 'mfa_removed', who) };
    });
  }

  /** An operator's reset (in the caller's transaction): every factor and code gone, every session ended. */
  async reset(userId: string, who: Requester): Promise<{ removedFactors: number; revokedSessions: number }> {
    return this.database.transaction(async () => {
      const removedFactors = await this.factors.removeAll(userId);
      await this.recoveryCodes.voidAll(userId);
      return { removedFactors, revokedSessions: await this.sessions.endAll(userId, null, 'mfa_reset', who) };
    });
  }
}
