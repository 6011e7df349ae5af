import { Injectable } from '@nestjs/common';
import type { Amr } from '../sessions/amr.js';
import { PasskeysService } from './passkeys.service.js';
import { RecoveryCodesService } from './recovery-codes.service.js';
import { TotpService } from './totp.service.js';

/** One proof of a second factor, as a login's second step or a step-up sends it. */
export type SecondFactorProof = { code: string } | { recoveryCode: string } | { webauthn: unknown };

export type ProofMethod = 'totp' | 'recovery_code' | 'webauthn';

export const methodOf = (proof: SecondFactorProof): ProofMethod => ('code' in proof ? 'totp' : 'recoveryCode' in proof ? 'recovery_code' : 'webauthn');

/** The one check of a second factor's proof: login/mfa and step-up both ask it. */
@Injectable()
export class SecondFactorService {
  constructor(
    private readonly totp: TotpService,
    private readonly recoveryCodes: RecoveryCodesService,
    private readonly passkeys: PasskeysService,
  ) {}

  /** The RFC 8176 methods the proof shows, or null. A TOTP step and a recovery code are spent by a success. */
  async prove(userId: string, proof: SecondFactorProof): Promise<Amr[] | null> {
    switch (methodOf(proof)) {
      case 'totp':
        return (await this.totp.verify(userId, (proof as { code: string }).code)) ? ['otp'] : null;
      case 'recovery_code':
        // A recovery code is a one-time password (RFC 8176 `otp`).
        return (await this.recoveryCodes.use(userId, (proof as { recoveryCode: string }).recoveryCode)) ? ['otp'] : null;
      case 'webauthn':
        return (await this.passkeys.verifyFor(userId, (proof as { webauthn: unknown }).webauthn)) ? ['hwk'] : null;
    }
  }
}
