import { createHmac, randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { AUDIENCE, ISSUER, TEST_SECRET } from './app.js';

// Access tokens made by the tests: signToken and claimsFor make ordinary ones with the test secret;
// handSigned and the rest build by hand what jsonwebtoken would refuse to sign (odd headers and
// payloads, alg "none", no exp).

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

/** Signs arbitrary claims with the test secret (or another), for tokens the server never issued. */
export function signToken(
  claims: Record<string, unknown>,
  options: { secret?: string; algorithm?: 'HS256' | 'HS384' | 'HS512' } = {},
): string {
  return new JwtService().sign(claims, {
    secret: options.secret ?? TEST_SECRET,
    algorithm: options.algorithm ?? 'HS256',
  });
}

/** Claims like the server's own, for a user and session, valid for 15 minutes unless overridden. */
export function claimsFor(user: { userId: string; sessionId: string }, extra: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: user.userId,
    sid: user.sessionId,
    jti: randomUUID(),
    iat: now,
    exp: now + 900,
    iss: ISSUER,
    aud: AUDIENCE,
    ...extra,
  };
}
