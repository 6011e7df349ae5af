import type { FastifyRequest } from 'fastify';
import { decodeRefreshToken } from '../sessions/refresh-token.js';
import { normalizeEmail } from '../users/email.js';

type Request = FastifyRequest<{ Body: { email?: unknown; refreshToken?: unknown } | undefined }>;

/**
 * Login attempts are counted per client address and email: it stops guessing one account's
 * password; it does not stop one address trying many accounts. The password change has no
 * email: its attempts count per session, by the bearer's `sid`, read unverified (a forged one
 * never gets past the auth guard to try a password).
 */
export function loginTracker(request: Record<string, unknown>): string {
  const { ip, body, headers } = request as unknown as Request;
  if (typeof body?.email === 'string') return `${ip}|${normalizeEmail(body.email)}`;
  return `${ip}|session:${unverifiedSid(headers.authorization)}`;
}

/**
 * Refreshes are counted per client address and the session their token names (read unverified):
 * telling a made-up token from an earlier one of a session walks its chain, up to thousands of
 * HMACs, so that work is bounded per address and session. Other clients of the session, at
 * other addresses, keep their own count.
 */
export function refreshTracker(request: Record<string, unknown>): string {
  const { ip, body, headers, server } = request as unknown as Request;
  let token = body?.refreshToken;
  if (token === undefined && headers.cookie && typeof server.parseCookie === 'function') {
    token = server.parseCookie(headers.cookie).refresh_token;
  }
  return `${ip}|session:${decodeRefreshToken(token)?.sessionId ?? ''}`;
}

/**
 * Forgot is counted per recipient too, by the normalized address, whoever asks and whether or
 * not it has an account: one victim cannot be mailed more than the recipient limit allows by
 * adding client addresses, and the count says nothing about which addresses are registered.
 * '' (nothing to count) for a body without an email, which validation refuses.
 */
export function recipientTracker(request: Record<string, unknown>): string {
  const { body } = request as unknown as Request;
  return typeof body?.email === 'string' ? normalizeEmail(body.email) : '';
}

function unverifiedSid(authorization: string | undefined): string {
  try {
    const payload = JSON.parse(Buffer.from(authorization?.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload?.sid === 'string' ? payload.sid.slice(0, 64) : '';
  } catch {
    return '';
  }
}
