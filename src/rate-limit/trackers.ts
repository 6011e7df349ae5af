import type { FastifyRequest } from 'fastify';
import { decodeRefreshToken } from '../sessions/refresh-token.js';
import { normalizeEmail } from '../users/email.js';

type Request = FastifyRequest<{ Body: { email?: unknown; refreshToken?: unknown } | undefined }>;

/** Per address and email: it stops guessing one account's password. The password change counts per session (`sid`, unverified: a forged one never passes the auth guard). */
export function loginTracker(request: Record<string, unknown>): string {
  const { ip, body, headers } = request as unknown as Request;
  if (typeof body?.email === 'string') return `${ip}|${normalizeEmail(body.email)}`;
  return `${ip}|session:${unverifiedSid(headers.authorization)}`;
}

/** Telling a made-up token from an earlier one walks its chain, up to thousands of HMACs: bounded per address and session. */
export function refreshTracker(request: Record<string, unknown>): string {
  const { ip, body, headers, server } = request as unknown as Request;
  let token = body?.refreshToken;
  if (token === undefined && headers.cookie && typeof server.parseCookie === 'function') {
    token = server.parseCookie(headers.cookie).refresh_token;
  }
  return `${ip}|session:${decodeRefreshToken(token)?.sessionId ?? ''}`;
}

/** Per recipient, whoever asks and whether it has an account: the count says nothing of which addresses are registered. */
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
