import type { RefusalReason } from '../result.js';

/** How an HTTP service answers a refused token. */
export interface Refusal {
  status: 401 | 403 | 503;
  headers: Record<string, string>;
  /** The auth server's own envelope and messages, so its clients react as they do to it. */
  body: { success: false; message: string };
}

const INVALID_TOKEN = 'Bearer error="invalid_token"';

/**
 * 401 when the token is bad or its session ended (the client must sign in again), 403 when it
 * expired (the client refreshes, as with the auth server), 503 when the receiver cannot vouch for
 * it now (stale or the server unreachable): the user is not signed out for our outage.
 */
export function refusalOf(reason: RefusalReason): Refusal {
  switch (reason) {
    case 'invalid':
    case 'ended':
      return answer(401, 'Token no proporcionado o inválido', { 'www-authenticate': INVALID_TOKEN });
    case 'expired':
      return answer(403, 'El token ha expirado', { 'www-authenticate': INVALID_TOKEN });
    case 'stale':
    case 'unavailable':
      return answer(503, 'Servicio no disponible', { 'retry-after': '1' });
  }
}

function answer(status: Refusal['status'], message: string, headers: Record<string, string>): Refusal {
  return { status, headers: { ...headers, 'cache-control': 'no-store' }, body: { success: false, message } };
}
