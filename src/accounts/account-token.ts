import { createHash, randomBytes } from 'node:crypto';

/** What a mailed link's token is for; a token of one purpose never serves another. */
export type TokenPurpose = 'password_reset' | 'email_verification';

/** 256 random bits, URL-safe: what the mail carries. Only its hash is stored. */
export function newAccountToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashOf(token) };
}

/** SHA-256 is enough for 256 random bits: nothing to guess, so nothing to slow down. */
export function hashOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
