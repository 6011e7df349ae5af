import type { JWTPayload } from 'jose';

/** The verified claims of an access token. */
export interface ReceiverClaims extends JWTPayload {
  /** The user. */
  sub: string;
  /** The session: what a logout ends. */
  sid: string;
  exp: number;
  iat: number;
  jti?: string;
}

/** Why a token was refused. */
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

/** The token of an `Authorization: Bearer <token>` header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  return BEARER.exec(header)?.[1];
}
