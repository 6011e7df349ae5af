import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import { type ClaimsOptions, claimsHolding, COMPACT_JWS, parseJson } from './jws.js';

// Exactly what jsonwebtoken.verify accepts (hs256.spec.ts), without the jws/jwa layers that cost most; expiry is the caller's.
export function verifyHs256(token: string, key: KeyObject, options: ClaimsOptions): Record<string, unknown> | null {
  if (!COMPACT_JWS.test(token)) return null;
  const [header, payload, signature] = token.split('.') as [string, string, string];
  // Decoded as jws decodes it (latin1): only `alg` is read, and compared to ASCII.
  if (parseJson(Buffer.from(header, 'base64url').toString('latin1'))?.alg !== 'HS256') return null;
  const expected = Buffer.from(createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url'));
  const presented = Buffer.from(signature);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
  return claimsHolding(payload, options);
}
