import { createHash, randomBytes } from 'node:crypto';

export type TokenPurpose = 'password_reset' | 'email_verification';

export function newAccountToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashOf(token) };
}

/** SHA-256 is enough for 256 random bits: nothing to guess, so nothing to slow down. */
export function hashOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
