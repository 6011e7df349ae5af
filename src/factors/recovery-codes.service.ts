import { Injectable } from '@nestjs/common';
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-code.js';
import { RecoveryCodesRepository } from './recovery-codes.repository.js';

@Injectable()
export class RecoveryCodesService {
  constructor(private readonly repository: RecoveryCodesRepository) {}

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
}
