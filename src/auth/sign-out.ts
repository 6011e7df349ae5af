import type { ApiResponseOptions } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthConfig } from './auth.config.js';
import { clearRefreshCookie } from './refresh-cookie.js';

// Own session only; `"cookies"` would clear a sibling app's cookies too, so only with LOGOUT_CLEAR_SITE_COOKIES=true.
export function signOutOf(config: AuthConfig): (reply: FastifyReply) => void {
  const cookieMode = config.REFRESH_TOKEN_COOKIE;
  const clearSiteData = config.LOGOUT_CLEAR_SITE_COOKIES ? '"cookies", "storage"' : '"storage"';
  return (reply) => {
    reply.header('clear-site-data', clearSiteData);
    if (cookieMode) clearRefreshCookie(reply);
  };
}

export const SIGN_OUT_HEADERS: ApiResponseOptions['headers'] = {
  'Clear-Site-Data': {
    description:
      'Only when the caller\'s own session ended. `"storage"`; `"cookies", "storage"` with LOGOUT_CLEAR_SITE_COOKIES=true ' +
      '(every cookie of the registrable domain, sibling subdomains included).',
    schema: { type: 'string', enum: ['"storage"', '"cookies", "storage"'] },
  },
  'Set-Cookie': {
    description: 'Cookie mode, only when the caller\'s own session ended: the refresh cookie cleared.',
    schema: { type: 'string', example: 'refresh_token=; Max-Age=0; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict' },
  },
};
