export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface ClaimsOptions {
  issuer: string;
  audience: string;
}

export function parseJson(json: string): Record<string, unknown> | null {
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}

/** Expiry is the caller's. */
export function claimsHolding(payload: string, { issuer, audience }: ClaimsOptions): Record<string, unknown> | null {
  const claims = parseJson(Buffer.from(payload, 'base64url').toString('utf8'));
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return null;
  if (claims.iss !== issuer) return null;
  if (Array.isArray(claims.aud) ? !claims.aud.includes(audience) : claims.aud !== audience) return null;
  if (claims.nbf !== undefined && !(typeof claims.nbf === 'number' && claims.nbf <= Math.floor(Date.now() / 1000))) return null;
  return claims;
}
