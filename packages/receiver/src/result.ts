import type { JWTPayload } from 'jose';

export interface ReceiverClaims extends JWTPayload {
  sub: string;
  /** The session: what a logout ends. */
  sid: string;
  exp: number;
  iat: number;
  jti?: string;
}

export type RefusalReason = 'invalid' | 'expired' | 'ended' | 'stale' | 'unavailable';

export interface Accepted {
  ok: true;
  claims: ReceiverClaims;
  /** `local`: signature and a fresh deny list; `introspection`: the server said so just now. */
  via: 'local' | 'introspection';
}

export interface Refused {
  ok: false;
  reason: RefusalReason;
}

export type VerifyResult = Accepted | Refused;

export const REFUSAL_REASONS: readonly RefusalReason[] = ['invalid', 'expired', 'ended', 'stale', 'unavailable'];

// RFC 6750's b64token after exactly one scheme; the scheme is case-insensitive (RFC 9110).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  return BEARER.exec(header)?.[1];
}
