// By their exact messages: a cross-origin page cannot read WWW-Authenticate, but it can read the body.

/** 401: the session is over (logged out, ended elsewhere, timed out, its refresh token reused). */
export const SESSION_OVER = 'Token no proporcionado o inválido';
/** 403: the access token ran out; a refresh gets another for the same session. */
export const TOKEN_EXPIRED = 'El token ha expirado';

export async function messageOf(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.clone().json()) as { message?: unknown };
    return typeof body?.message === 'string' ? body.message : undefined;
  } catch {
    return undefined;
  }
}
