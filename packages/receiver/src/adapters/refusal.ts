import type { RefusalReason } from '../result.js';

export interface Refusal {
  status: 401 | 403 | 503;
  headers: Record<string, string>;
  /** The auth server's own envelope and messages, so its clients react as they do to it. */
  body: { success: false; message: string };
}

const INVALID_TOKEN = 'Bearer error="invalid_token"';

// 503 when the receiver cannot vouch for a token now: a 401 would sign the user out for our outage.
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
