import { type KeyObject, verify } from 'node:crypto';
import { type ClaimsOptions, claimsHolding, COMPACT_JWS, parseJson } from './jws.js';

/**
 * The payload of an EdDSA (Ed25519) token signed by the key its `kid` names, whose issuer,
 * audience and `nbf` hold; null for anything else. The header is read for `alg` and `kid` only:
 * a key it embeds or points at (`jwk`, `jku`, `x5u`, `x5c`) is never used, and a header asking
 * for extensions (`crit`, `b64`) is refused. eddsa.spec.ts checks it against jose's jwtVerify.
 */
export function verifyEdDsa(token: string, keys: ReadonlyMap<string, KeyObject>, options: ClaimsOptions): Record<string, unknown> | null {
  if (!COMPACT_JWS.test(token)) return null;
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const fields = parseJson(Buffer.from(header, 'base64url').toString('utf8'));
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return null;
  if (fields.alg !== 'EdDSA' || 'crit' in fields || 'b64' in fields || typeof fields.kid !== 'string') return null;
  const key = keys.get(fields.kid);
  if (!key) return null;
  const bytes = Buffer.from(signature, 'base64url');
  if (bytes.length !== 64 || bytes.toString('base64url') !== signature || !verify(null, Buffer.from(`${header}.${payload}`), key, bytes)) return null;
  return claimsHolding(payload, options);
}
