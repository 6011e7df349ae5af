import { createHash, createHmac, type KeyObject, randomBytes } from 'node:crypto';

// Successors' secrets are HMACs of their predecessor's: with only hashes stored, a retry gets the same one and reuse is told from forgery.
export interface RefreshToken {
  sessionId: string;
  generation: number;
  secret: Buffer;
}

const SESSION_BYTES = 16;
const GENERATION_BYTES = 4;
const SECRET_BYTES = 32;
const TOKEN_BYTES = SESSION_BYTES + GENERATION_BYTES + SECRET_BYTES;
const TOKEN_LENGTH = Math.ceil((TOKEN_BYTES * 4) / 3);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
export const MAX_GENERATION = 0x7fffffff;

export function encodeRefreshToken({ sessionId, generation, secret }: RefreshToken): string {
  const bytes = Buffer.alloc(TOKEN_BYTES);
  Buffer.from(sessionId.replaceAll('-', ''), 'hex').copy(bytes, 0);
  bytes.writeUInt32BE(generation, SESSION_BYTES);
  secret.copy(bytes, SESSION_BYTES + GENERATION_BYTES);
  return bytes.toString('base64url');
}

/** Null for anything that is not exactly a token's shape. */
export function decodeRefreshToken(token: unknown): RefreshToken | null {
  if (typeof token !== 'string' || token.length !== TOKEN_LENGTH || !BASE64URL.test(token)) return null;
  const bytes = Buffer.from(token, 'base64url');
  // Only the canonical spelling: the last character's spare bits are zero.
  if (bytes.length !== TOKEN_BYTES || bytes.toString('base64url') !== token) return null;
  const generation = bytes.readUInt32BE(SESSION_BYTES);
  // `sessions.refresh_generation` is a PostgreSQL integer: 2^31 and up were never issued.
  if (generation > MAX_GENERATION) return null;
  const hex = bytes.subarray(0, SESSION_BYTES).toString('hex');
  return {
    sessionId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    generation,
    secret: Buffer.from(bytes.subarray(SESSION_BYTES + GENERATION_BYTES)),
  };
}

export const firstRefreshSecret = (): Buffer => randomBytes(SECRET_BYTES);

export const hashRefreshSecret = (secret: Buffer): Buffer => createHash('sha256').update(secret).digest();

export function successorOf(token: RefreshToken, key: KeyObject): RefreshToken {
  const generation = token.generation + 1;
  const secret = createHmac('sha256', key)
    .update(token.sessionId)
    .update(String(generation))
    .update(token.secret)
    .digest();
  return { sessionId: token.sessionId, generation, secret };
}
