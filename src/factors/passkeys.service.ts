import { Injectable } from '@nestjs/common';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  SimpleWebAuthnError,
  type VerifiedAuthenticationResponse,
  type VerifiedRegistrationResponse,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { decodeClientDataJSON, isoBase64URL } from '@simplewebauthn/server/helpers';
import { AuditRepository } from '../audit/audit.repository.js';
import { Database, isUniqueViolation } from '../database/database.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import type { Requester } from '../http/requester.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { FactorsConfig, webauthnOriginsOf } from './factors.config.js';
import { FactorsRepository, type StoredPasskey } from './factors.repository.js';
import { type ChallengeKind, MfaChallengesRepository } from './mfa-challenges.repository.js';
import { RecoveryCodesService } from './recovery-codes.service.js';

/** What a passkey assertion proved. */
export interface PasskeyProof {
  factorId: string;
  userId: string;
  /** The authenticator verified the user (PIN, biometrics): RFC 8176 `user`. */
  userVerified: boolean;
}

/** A passwordless sign-in proved: who, and what the session opens under. */
export interface PasskeySignIn extends PasskeyProof {
  email: string;
  emailVerified: boolean;
  sessionEpoch: number;
}

export interface RegisteredPasskey {
  factorId: string;
  /** Only for the user's first factor. */
  recoveryCodes?: string[];
  revokedSessions: number;
}

const CHALLENGE_TTL_SECONDS = 300;
const TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);
const MAX_CREDENTIAL_ID = 1400;
const MAX_CHALLENGE = 128;

/** The `errors` entries of a refused ceremony: never a library's own words. */
export const PASSKEY_ERRORS = {
  malformed: 'credential no es una respuesta WebAuthn válida',
  challenge: 'El desafío de la llave de acceso no es válido o ha expirado',
  origin: 'El origen de la llave de acceso no está permitido',
  rpId: 'La llave de acceso no corresponde a este sitio (RP ID)',
  attestation: 'La atestación de la llave de acceso no es válida',
  duplicate: 'La llave de acceso ya está registrada',
  none: 'No tiene llaves de acceso registradas',
} as const;

const invalid = (error: string) => new AppException(ErrorCode.InvalidRequest, { errors: [error] });

/** A library failure in our words: origin and RP ID named, anything else a malformed response. */
function refusal(err: unknown, otherwise: string): AppException {
  if (err instanceof AppException) return err;
  if (err instanceof SimpleWebAuthnError && err.code === 'UNEXPECTED_ORIGIN') return invalid(PASSKEY_ERRORS.origin);
  if (err instanceof SimpleWebAuthnError && err.code === 'UNEXPECTED_RP_ID') return invalid(PASSKEY_ERRORS.rpId);
  return invalid(otherwise);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isB64 = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && isoBase64URL.isBase64URL(v);

/** The shape the library reads, checked first so that a hostile body meets our 400, not its exception. */
function credentialOf(value: unknown, fields: string[]): { id: string; response: Record<string, unknown> } {
  if (!isRecord(value) || !isRecord(value.response) || value.type !== 'public-key') throw invalid(PASSKEY_ERRORS.malformed);
  if (!isB64(value.id) || value.id.length > MAX_CREDENTIAL_ID || value.rawId !== value.id) throw invalid(PASSKEY_ERRORS.malformed);
  for (const field of fields) if (!isB64(value.response[field])) throw invalid(PASSKEY_ERRORS.malformed);
  const { userHandle } = value.response;
  if (userHandle !== undefined && userHandle !== null && !isB64(userHandle)) throw invalid(PASSKEY_ERRORS.malformed);
  return { id: value.id, response: value.response };
}

/** The challenge the client signed, read from its clientDataJSON. */
function signedChallenge(clientDataJSON: string): string {
  let challenge: unknown;
  try {
    challenge = decodeClientDataJSON(clientDataJSON).challenge;
  } catch {
    throw invalid(PASSKEY_ERRORS.malformed);
  }
  if (typeof challenge !== 'string' || !challenge || challenge.length > MAX_CHALLENGE) throw invalid(PASSKEY_ERRORS.challenge);
  return challenge;
}

/** The user handle of a passkey: the user's id (16 bytes), so a discoverable credential names its user. */
const userHandleOf = (userId: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));

/** Passkeys (WebAuthn Level 3): registration, passwordless sign-in, and proof for a second step or step-up. */
@Injectable()
export class PasskeysService {
  private readonly rpId: string;
  private readonly rpName: string;
  private readonly origins: string[];

  constructor(
    private readonly factors: FactorsRepository,
    private readonly challenges: MfaChallengesRepository,
    private readonly recoveryCodes: RecoveryCodesService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditRepository,
    private readonly database: Database,
    config: FactorsConfig,
  ) {
    this.rpId = config.WEBAUTHN_RP_ID;
    this.rpName = config.MFA_ISSUER;
    this.origins = webauthnOriginsOf(config);
  }

  /** Creation options; the challenge is bound to this user and this session. */
  async registrationOptions(userId: string, sessionId: string, email: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const mine = await this.factors.passkeysOf(userId);
    const options = await generateRegistrationOptions({
      rpName: this.rpName,
      rpID: this.rpId,
      userName: email,
      userDisplayName: email,
      userID: userHandleOf(userId),
      timeout: CHALLENGE_TTL_SECONDS * 1000,
      attestationType: 'none',
      excludeCredentials: mine.map((p) => ({ id: p.credentialId, transports: p.transports })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
    });
    await this.challenges.open({ kind: 'passkey_register', userId, sessionId, challenge: options.challenge, ttlSeconds: CHALLENGE_TTL_SECONDS });
    return options;
  }

  /**
   * A new passkey factor from an attestation to a challenge this session was given. Enabling a
   * factor ends every other session of the user (`mfa_enabled`) and raises this one with `hwk`.
   */
  async register(userId: string, sessionId: string, credential: unknown, name: string, who: Requester): Promise<RegisteredPasskey> {
    const { response } = credentialOf(credential, ['clientDataJSON', 'attestationObject']);
    const taken = await this.challenges.takeChallenge('passkey_register', signedChallenge(response.clientDataJSON as string), userId);
    if (!taken || taken.sessionId !== sessionId) throw invalid(PASSKEY_ERRORS.challenge);
    let info: Extract<VerifiedRegistrationResponse, { verified: true }>['registrationInfo'];
    try {
      const verified = await verifyRegistrationResponse({
        response: credential as RegistrationResponseJSON,
        expectedChallenge: () => true, // taken above: it was this session's, and it is spent
        expectedOrigin: this.origins,
        expectedRPID: this.rpId,
        requireUserVerification: false,
      });
      if (!verified.verified) throw invalid(PASSKEY_ERRORS.attestation);
      info = verified.registrationInfo;
    } catch (err) {
      throw refusal(err, PASSKEY_ERRORS.attestation);
    }
    const transports = (info.credential.transports ?? []).filter((t) => TRANSPORTS.has(t));
    try {
      return await this.database.transaction(async () => {
        const { id: factorId, first } = await this.factors.insertPasskey(userId, name, {
          credentialId: info.credential.id,
          publicKey: Buffer.from(info.credential.publicKey),
          signCount: info.credential.counter,
          transports,
          backupEligible: info.credentialDeviceType === 'multiDevice',
          backedUp: info.credentialBackedUp,
        });
        const recoveryCodes = first ? await this.recoveryCodes.issue(userId) : undefined;
        // A factor's life ends the sessions it did not protect: every other session of the user.
        const revokedSessions = await this.sessions.endAll(userId, sessionId, 'mfa_enabled', who);
        await this.sessions.raise(sessionId, userId, ['hwk']);
        return { factorId, recoveryCodes, revokedSessions };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw invalid(PASSKEY_ERRORS.duplicate);
      throw err;
    }
  }

  /** Request options for a passwordless sign-in: no user yet, so no allowCredentials (discoverable). */
  async loginOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({ rpID: this.rpId, userVerification: 'preferred', timeout: CHALLENGE_TTL_SECONDS * 1000 });
    await this.challenges.open({ kind: 'passkey_login', challenge: options.challenge, ttlSeconds: CHALLENGE_TTL_SECONDS });
    return options;
  }

  /**
   * A passwordless sign-in: 400 for a malformed response, a spent challenge, a wrong origin or RP
   * ID; 401 for an unknown passkey, a bad signature, a counter gone back, or no user verification
   * (a passkey alone is one factor only when the authenticator verified the user).
   */
  async verifyLogin(credential: unknown, who: Requester): Promise<PasskeySignIn> {
    const { passkey, proof } = await this.assert('passkey_login', credential, who);
    if (!proof.userVerified) {
      await this.failed(passkey, 'passkey_user_not_verified', who);
      throw new AppException(ErrorCode.InvalidCredentials);
    }
    // Only after the assertion: these answers must not tell an outsider that an account exists.
    if (passkey.locked) throw new AppException(ErrorCode.AccountLocked);
    return { ...proof, email: passkey.email, emailVerified: passkey.emailVerified, sessionEpoch: passkey.sessionEpoch };
  }

  /** Request options for the user's own passkeys (a login's second step, step-up); the challenge is stored single use for this user. */
  async requestOptionsFor(userId: string): Promise<Record<string, unknown> | null> {
    const mine = await this.factors.passkeysOf(userId);
    if (!mine.length) return null;
    const options = await generateAuthenticationOptions({
      rpID: this.rpId,
      allowCredentials: mine.map((p) => ({ id: p.credentialId, transports: p.transports })),
      userVerification: 'preferred',
      timeout: CHALLENGE_TTL_SECONDS * 1000,
    });
    await this.challenges.open({ kind: 'passkey_verify', userId, challenge: options.challenge, ttlSeconds: CHALLENGE_TTL_SECONDS });
    return { ...options };
  }

  /**
   * An assertion by one of the user's passkeys to a challenge issued to this user; null when it does
   * not prove (unknown passkey, bad signature, counter). A malformed one, a spent challenge or a wrong
   * origin or RP ID throws its 400: a client's mistake, not a wrong proof to count.
   */
  async verifyFor(userId: string, response: unknown): Promise<PasskeyProof | null> {
    try {
      const { proof } = await this.assert('passkey_verify', response, undefined, userId);
      return proof;
    } catch (err) {
      if (err instanceof AppException && err.code === ErrorCode.InvalidCredentials) return null;
      throw err;
    }
  }

  /**
   * The one check of an assertion. The challenge is taken first, so any attempt spends it. The
   * library's own counter check is off (a counter of 0 given): the rule here lets a backed-up
   * passkey that reports 0 through, and the new counter is stored by compare-and-set.
   */
  private async assert(kind: ChallengeKind, credential: unknown, who?: Requester, userId?: string): Promise<{ passkey: StoredPasskey; proof: PasskeyProof }> {
    const { id, response } = credentialOf(credential, ['clientDataJSON', 'authenticatorData', 'signature']);
    if (!(await this.challenges.takeChallenge(kind, signedChallenge(response.clientDataJSON as string), userId))) throw invalid(PASSKEY_ERRORS.challenge);
    const passkey = await this.factors.findPasskey(id);
    if (!passkey || (userId !== undefined && passkey.userId !== userId)) throw new AppException(ErrorCode.InvalidCredentials);
    // A discoverable credential names its user: it must be the passkey's.
    const { userHandle } = response;
    if (typeof userHandle === 'string' && userHandle && Buffer.from(userHandle, 'base64url').toString('hex') !== passkey.userId.replace(/-/g, '')) {
      throw new AppException(ErrorCode.InvalidCredentials);
    }
    let info: VerifiedAuthenticationResponse['authenticationInfo'];
    try {
      const verified = await verifyAuthenticationResponse({
        response: credential as AuthenticationResponseJSON,
        expectedChallenge: () => true, // taken above
        expectedOrigin: this.origins,
        expectedRPID: this.rpId,
        credential: { id, publicKey: new Uint8Array(passkey.publicKey), counter: 0 },
        requireUserVerification: false,
      });
      if (!verified.verified) {
        if (who) await this.failed(passkey, 'passkey_signature', who);
        throw new AppException(ErrorCode.InvalidCredentials);
      }
      info = verified.authenticationInfo;
    } catch (err) {
      throw refusal(err, PASSKEY_ERRORS.malformed);
    }
    const reported = info.newCounter;
    const stored = passkey.signCount;
    // Synced passkeys report 0 always: allowed for a credential that is backed up, else the counter must grow.
    const syncedZero = reported === 0 && passkey.backupEligible && info.credentialBackedUp;
    if ((reported > 0 || stored > 0) && reported <= stored && !syncedZero) {
      if (who) await this.failed(passkey, 'passkey_counter', who);
      throw new AppException(ErrorCode.InvalidCredentials);
    }
    if (!(await this.factors.acceptPasskeyUse(passkey.id, stored, Math.max(reported, stored), info.credentialBackedUp))) {
      throw new AppException(ErrorCode.InvalidCredentials);
    }
    return { passkey, proof: { factorId: passkey.id, userId: passkey.userId, userVerified: info.userVerified } };
  }

  private failed(passkey: StoredPasskey, reason: string, who: Requester): Promise<void> {
    return this.audit.record({ event: 'login_failed', userId: passkey.userId, details: { email: passkey.email, reason } }, who);
  }
}
