import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

const REFRESH_COOKIE = 'refresh_token';
// One set for setting and clearing: a clearing Set-Cookie with another Path clears nothing.
const ATTRIBUTES = { httpOnly: true, secure: true, sameSite: 'strict', path: '/api/v1/auth' } as const;

export function setRefreshCookie(reply: FastifyReply, token: string, sessionEnds: Date): void {
  const maxAge = Math.max(0, Math.floor((sessionEnds.getTime() - Date.now()) / 1000));
  reply.setCookie(REFRESH_COOKIE, token, { ...ATTRIBUTES, maxAge });
}

export function clearRefreshCookie(reply: FastifyReply): void {
  reply.setCookie(REFRESH_COOKIE, '', { ...ATTRIBUTES, maxAge: 0 });
}

// Parsed only here: @fastify/cookie is registered with `hook: false`.
export function refreshCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  return header ? request.server.parseCookie(header)[REFRESH_COOKIE] : undefined;
}
