import { Injectable } from '@nestjs/common';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { type EncryptionKeys, encryptionKeysOf, FactorsConfig } from './factors.config.js';
import { FactorsRepository } from './factors.repository.js';
import { seal, unseal } from './secret-box.js';
import { stepOf } from './totp.js';

@Injectable()
export class TotpService {
  private readonly keys: EncryptionKeys | null;

  constructor(
    private readonly factors: FactorsRepository,
    config: FactorsConfig,
  ) {
    this.keys = encryptionKeysOf(config);
  }

  /**
   * The factor a code of one of the user's confirmed TOTP factors (or of the pending `pendingId`)
   * proves, or null. A code is accepted once: its step must be later than the last accepted one,
   * set by compare-and-set, so of two simultaneous requests with one code exactly one wins.
   */
  async verify(userId: string, code: unknown, pendingId?: string): Promise<{ factorId: string } | null> {
    if (typeof code !== 'string' || !this.keys) return null;
    const keys = this.keys;
    for (const factor of await this.factors.totpFactorsOf(userId, pendingId)) {
      const opened = unseal(factor.secret, keys, userId);
      if (!opened) continue;
      const step = stepOf(opened.plaintext.toString(), code);
      if (step === null || (factor.lastStep !== null && step <= factor.lastStep)) continue;
      // Re-sealed under the current key when used: rotation completes as users sign in.
      const resealed = opened.stale ? seal(opened.plaintext, keys, userId) : undefined;
      if (await this.factors.acceptTotpStep(factor.id, step, resealed)) return { factorId: factor.id };
    }
    return null;
  }

  /** For a new factor's row: the secret sealed for this user. Production without MFA_ENCRYPTION_KEY stores no secret: 503. */
  sealSecret(userId: string, secret: string): Buffer {
    if (!this.keys) throw new AppException(ErrorCode.ServiceUnavailable);
    return seal(Buffer.from(secret), this.keys, userId);
  }
}
