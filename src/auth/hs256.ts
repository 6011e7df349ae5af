import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';

/** Three non-empty base64url parts: what jws (under jsonwebtoken) takes for a signed token. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface Hs256Options {
  issuer: string;
  audience: string;
}

/**
 * The payload of an HS256 token whose signature, algorithm, issuer, audience and `nbf` hold; null
 * for anything else. It accepts exactly what `jsonwebtoken.verify(token, key, { algorithms:
 * ['HS256'], issuer, audience, ignoreExpiration: true })` accepts (hs256.spec.ts checks that on
 * generated tokens), without the layers of jws and jwa around one HMAC, which were most of the
 * cost of verifying a token on every request. Expiry is the caller's (AccessTokenService).
 */
export function verifyHs256(token: string, key: KeyObject, { issuer, audience }: Hs256Options): Record<string, unknown> | null {
  if (!COMPACT_JWS.test(token)) return null;
  const [header, payload, signature] = token.split('.') as [string, string, string];
  // Decoded as jws decodes it (latin1): only `alg` is read, and compared to ASCII.
  if (parse(Buffer.from(header, 'base64url').toString('latin1'))?.alg !== 'HS256') return null;
  const expected = Buffer.from(createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url'));
  const presented = Buffer.from(signature);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
  const claims = parse(Buffer.from(payload, 'base64url').toString('utf8'));
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return null;
  if (claims.iss !== issuer) return null;
  if (Array.isArray(claims.aud) ? !claims.aud.includes(audience) : claims.aud !== audience) return null;
  if (claims.nbf !== undefined && !(typeof claims.nbf === 'number' && claims.nbf <= Math.floor(Date.now() / 1000))) return null;
  return claims;
}

function parse(json: string): Record<string, unknown> | null {
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}
