import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { b64url } from './tokens.js';

// Ed25519 keys for servers started with JWT_ALGORITHM=EdDSA, and tokens signed by hand with them.

export interface Ed25519Key {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#8, as JWT_PRIVATE_KEY takes it. */
  privatePem: string;
  /** SPKI, as JWT_PREVIOUS_PUBLIC_KEYS takes it. */
  publicPem: string;
}

export function ed25519Key(): Ed25519Key {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** The `kid` the server gives a key: its RFC 7638 thumbprint. */
export async function kidOf(key: Ed25519Key): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(key.publicKey), 'sha256');
}

/** A token signed with Ed25519 by hand, whatever its header says. */
export function edSigned(header: Record<string, unknown>, payload: unknown, key: Ed25519Key): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}
