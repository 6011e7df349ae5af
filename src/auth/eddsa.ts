import { type KeyObject, verify } from 'node:crypto';
import { type ClaimsOptions, claimsHolding, COMPACT_JWS, parseJson } from './jws.js';

// Only `alg` and `kid` are read: `jwk`, `jku`, `x5u`, `x5c` never followed, `crit`/`b64` refused (eddsa.spec.ts: as jose).
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
