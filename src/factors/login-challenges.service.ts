import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';
import type { Amr } from '../sessions/amr.js';
import { FactorsRepository } from './factors.repository.js';
import { MfaChallengesRepository } from './mfa-challenges.repository.js';
import { PasskeysService } from './passkeys.service.js';
import { RecoveryCodesService } from './recovery-codes.service.js';
import { type SecondFactorProof, SecondFactorService } from './second-factor.service.js';

export const MFA_TOKEN_TTL = 300;
/** Wrong proofs an mfaToken survives: the last one kills it. */
export const MFA_TOKEN_ATTEMPTS = 5;

export type LoginMethod = 'totp' | 'webauthn' | 'recovery_code';
const METHOD_ORDER: readonly LoginMethod[] = ['totp', 'webauthn', 'recovery_code'];

export interface MfaRequired {
  mfaRequired: true;
  mfaToken: string;
  methods: LoginMethod[];
  /** With a passkey: the request options to answer. */
  webauthn?: Record<string, unknown>;
}

export type Redeemed =
  | { outcome: 'gone' }
  | { outcome: 'wrong'; userId: string; attempts: number }
  | { outcome: 'proved'; userId: string; sessionEpoch: number; amr: Amr[] };

const hashOf = (mfaToken: string): Buffer => createHash('sha256').update(mfaToken).digest();

/** A sign-in's second step: the mfaToken handed out after the password, redeemed once with a factor's proof. */
@Injectable()
export class LoginChallengesService {
  constructor(
    private readonly factors: FactorsRepository,
    private readonly recoveryCodes: RecoveryCodesService,
    private readonly challenges: MfaChallengesRepository,
    private readonly passkeys: PasskeysService,
    private readonly secondFactor: SecondFactorService,
    private readonly database: Database,
  ) {}

  /** Null for a user without an active factor. The epoch read with the password goes with the token: an end of all in between still wins. */
  async open(user: { id: string; sessionEpoch: number }): Promise<MfaRequired | null> {
    const types: LoginMethod[] = await this.factors.activeTypesOf(user.id);
    if (!types.length) return null;
    if ((await this.recoveryCodes.remaining(user.id)) > 0) types.push('recovery_code');
    const mfaToken = randomBytes(32).toString('base64url');
    await this.challenges.open({ kind: 'login', ttlSeconds: MFA_TOKEN_TTL, userId: user.id, secretHash: hashOf(mfaToken), sessionEpoch: user.sessionEpoch });
    const webauthn = types.includes('webauthn') ? await this.passkeys.requestOptionsFor(user.id) : null;
    return { mfaRequired: true, mfaToken, methods: METHOD_ORDER.filter((m) => types.includes(m)), ...(webauthn ? { webauthn } : {}) };
  }

  /** The live challenge of an mfaToken, and whose it is; not taken. */
  async find(mfaToken: string): Promise<{ id: string; userId: string } | null> {
    const challenge = await this.challenges.findBySecret('login', hashOf(mfaToken));
    return challenge?.userId ? { id: challenge.id, userId: challenge.userId } : null;
  }

  /**
   * The proof checked with the challenge's row locked: of simultaneous attempts with one token one
   * at a time, so exactly one succeeds and a loser's recovery code or TOTP step is not spent.
   */
  redeem(challengeId: string, proof: SecondFactorProof): Promise<Redeemed> {
    return this.database.transaction(async (): Promise<Redeemed> => {
      const challenge = await this.challenges.lock(challengeId);
      if (!challenge?.userId || challenge.sessionEpoch === null) return { outcome: 'gone' };
      const amr = await this.secondFactor.prove(challenge.userId, proof);
      if (!amr) return { outcome: 'wrong', userId: challenge.userId, attempts: await this.challenges.countFailure(challenge.id, MFA_TOKEN_ATTEMPTS) };
      await this.challenges.take(challenge.id);
      return { outcome: 'proved', userId: challenge.userId, sessionEpoch: challenge.sessionEpoch, amr };
    });
  }
}
