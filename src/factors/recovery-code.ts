import { createHash, randomBytes } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // 32 symbols, no 0/O or 1/I
const SYMBOLS = 16; // 16 × 5 bits = 80 bits: too many to guess, so a fast hash is enough

/** `XXXX-XXXX-XXXX-XXXX`. */
export function newRecoveryCode(): string {
  const bytes = randomBytes(SYMBOLS);
  const symbols = [...bytes].map((b) => ALPHABET[b & 31]).join('');
  return symbols.match(/.{4}/g)!.join('-');
}

/** Case, spaces and dashes do not count: a code read aloud or retyped still works. */
export function hashRecoveryCode(code: string): Buffer | null {
  const normalized = code.toUpperCase().replace(/[\s-]/g, '');
  if (normalized.length !== SYMBOLS || [...normalized].some((c) => !ALPHABET.includes(c))) return null;
  return createHash('sha256').update(normalized).digest();
}
