import { Injectable } from '@nestjs/common';

/** What a passkey assertion proved. */
export interface PasskeyProof {
  factorId: string;
  userId: string;
  /** The authenticator verified the user (PIN, biometrics): RFC 8176 `user`. */
  userVerified: boolean;
}

// Filled in by the passkeys work: registration, passwordless login, and use as a second factor or for step-up.
@Injectable()
export class PasskeysService {
  /** Request options for the user's own passkeys (a login's second step, step-up); the challenge is stored single use for this user. */
  async requestOptionsFor(_userId: string): Promise<Record<string, unknown> | null> {
    return null;
  }

  /** An assertion by one of the user's passkeys to a challenge issued to this user; null when anything fails. */
  async verifyFor(_userId: string, _response: unknown): Promise<PasskeyProof | null> {
    return null;
  }
}
