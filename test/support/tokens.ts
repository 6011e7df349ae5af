import { createHmac } from 'node:crypto';
import { claimsFor, TEST_SECRET } from './test-app.js';

// Tokens the server never issued, built by hand: for what jsonwebtoken would refuse to sign
// (odd headers and payloads, alg "none", no exp). signToken and claimsFor, in test-app.ts, make
// the ordinary ones.

/** A secret that is not the server's, for tokens that must be refused for their signature. */
export const OTHER_SECRET = 'some-other-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** The header of the server's own tokens. */
export const HS256 = { alg: 'HS256', typ: 'JWT' };

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A string as is, anything else as JSON, in base64url: one part of a JWT. */
export const b64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** The JSON in part `index` (0 header, 1 payload) of a token. */
export const decodePart = (token: string, index: number) =>
  JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8'));

/**
 * A JWT built by hand, so that header and payload can be anything jsonwebtoken would refuse to
 * sign (a string header or payload is taken as is), HMAC-signed with `hash` under `secret`.
 */
export function handSigned(
  header: Record<string, unknown> | string,
  payload: unknown,
  { secret = TEST_SECRET, hash = 'sha256' }: { secret?: string; hash?: string } = {},
): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** An alg "none" token: header.payload. with an empty signature. */
export const unsignedToken = (payload: unknown) => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;

/** Claims without exp, which jsonwebtoken's sign would otherwise add back from expiresIn. */
export const withoutExp = (claims: Record<string, unknown>) => {
  const { exp: _exp, ...rest } = claims;
  return rest;
};

/** Claims like claimsFor's, but expired a minute ago (issued 1000 s ago). */
export const expiredClaimsFor = (user: { userId: string; sessionId: string }, extra: Record<string, unknown> = {}) =>
  claimsFor(user, { iat: nowSeconds() - 1000, exp: nowSeconds() - 60, ...extra });
