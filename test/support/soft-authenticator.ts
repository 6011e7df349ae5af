import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { type CBORType, encodeCBOR } from '@levischuck/tiny-cbor';

// A WebAuthn authenticator in software, as a browser and its platform authenticator would answer:
// ES256 (P-256) keys from Node's crypto, attestation "none", CBOR by tiny-cbor (simplewebauthn's
// own). Every part a test may want wrong can be set: flags, counter, origin, RP ID, challenge.

const FLAG = { up: 0x01, uv: 0x04, be: 0x08, bs: 0x10, at: 0x40 } as const;

export interface SoftPasskey {
  /** base64url */
  id: string;
  privateKey: KeyObject;
  /** base64url, from the creation options' user.id */
  userHandle: string;
  counter: number;
  rpId: string;
}

/** What an answer may carry other than what the options ask. */
export interface Ceremony {
  origin?: string;
  rpId?: string;
  challenge?: string;
  /** User present (default true). */
  up?: boolean;
  /** User verified (default: the authenticator's). */
  uv?: boolean;
  /** Backup eligible / backed up (default: the authenticator's). */
  be?: boolean;
  bs?: boolean;
  /** The counter to report (default: one more than the last; 0 when the authenticator keeps none). */
  counter?: number;
  /** Assertions: which passkey answers (default: the first allowed one the authenticator holds, else its newest). Registrations: the passkey registered again. */
  passkey?: SoftPasskey;
  /** Assertions: send no userHandle. */
  noUserHandle?: boolean;
}

export interface AuthenticatorOptions {
  origin?: string;
  userVerified?: boolean;
  backupEligible?: boolean;
  backedUp?: boolean;
  /** Authenticators that keep no counter report 0 always (as synced passkeys do). */
  counts?: boolean;
}

const b64url = (bytes: Uint8Array | Buffer | string) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

function coseKeyOf(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  return encodeCBOR(
    new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
    ]),
  );
}

export class SoftAuthenticator {
  readonly origin: string;
  readonly passkeys: SoftPasskey[] = [];
  userVerified: boolean;
  backupEligible: boolean;
  backedUp: boolean;
  counts: boolean;

  constructor({ origin = 'http://localhost:3000', userVerified = true, backupEligible = false, backedUp = false, counts = true }: AuthenticatorOptions = {}) {
    this.origin = origin;
    this.userVerified = userVerified;
    this.backupEligible = backupEligible;
    this.backedUp = backedUp;
    this.counts = counts;
  }

  private clientData(type: string, challenge: string, c: Ceremony): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge: c.challenge ?? challenge, origin: c.origin ?? this.origin, crossOrigin: false }));
  }

  private authData(rpId: string, counter: number, c: Ceremony, attested?: Buffer): Buffer {
    let flags = 0;
    if (c.up ?? true) flags |= FLAG.up;
    if (c.uv ?? this.userVerified) flags |= FLAG.uv;
    if (c.be ?? this.backupEligible) flags |= FLAG.be;
    if (c.bs ?? this.backedUp) flags |= FLAG.bs;
    if (attested) flags |= FLAG.at;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([sha256(c.rpId ?? rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
  }

  /** navigator.credentials.create: the registration response JSON for these creation options. */
  create(options: { challenge: string; rp: { id?: string }; user: { id: string } }, c: Ceremony = {}) {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const { privateKey, publicKey } = c.passkey
      ? { privateKey: c.passkey.privateKey, publicKey: createPublicKey(c.passkey.privateKey) }
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rawId = c.passkey ? Buffer.from(c.passkey.id, 'base64url') : randomBytes(32);
    const counter = c.counter ?? 0;
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(rawId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, rawId, Buffer.from(coseKeyOf(publicKey))]);
    const authData = this.authData(rpId, counter, c, attested);
    const attestationObject = encodeCBOR(
      new Map<string, CBORType>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, CBORType>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    const passkey: SoftPasskey = { id: b64url(rawId), privateKey, userHandle: options.user.id, counter, rpId };
    if (!c.passkey) this.passkeys.push(passkey);
    return {
      passkey,
      json: {
        id: passkey.id,
        rawId: passkey.id,
        type: 'public-key',
        response: {
          clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge, c)),
          attestationObject: b64url(attestationObject),
          transports: ['internal'],
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      },
    };
  }

  /** navigator.credentials.get: the authentication response JSON for these request options. */
  get(options: { challenge: string; rpId?: string; allowCredentials?: Array<{ id: string }> }, c: Ceremony = {}) {
    const allowed = options.allowCredentials?.length ? this.passkeys.filter((p) => options.allowCredentials!.some((a) => a.id === p.id)) : this.passkeys.slice().reverse();
    const passkey = c.passkey ?? allowed[0];
    if (!passkey) throw new Error('soft authenticator: no passkey for these options');
    passkey.counter = c.counter ?? (this.counts ? passkey.counter + 1 : 0);
    const authData = this.authData(options.rpId ?? passkey.rpId, passkey.counter, c);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, c);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), passkey.privateKey);
    return {
      id: passkey.id,
      rawId: passkey.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(!c.noUserHandle && { userHandle: passkey.userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
