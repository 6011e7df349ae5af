// By their exact messages: a cross-origin page cannot read WWW-Authenticate unless the API exposes it, but it can read the body.

/** 401: the session is over (logged out, ended elsewhere, timed out, its refresh token reused). */
export const SESSION_OVER = 'Token no proporcionado o inválido';
/** 403: the access token ran out; a refresh gets another for the same session. */
export const TOKEN_EXPIRED = 'El token ha expirado';
/** 401: the route wants a factor proved on this session lately (RFC 9470); the session itself lives. */
export const STEP_UP_REQUIRED = 'Se requiere autenticación reciente';
/** 401: a wrong TOTP code, recovery code or passkey answer; the user may try again. */
export const INVALID_MFA_CODE = 'Código de verificación inválido';
/** 401: a wrong password (login, or step-up for a user without factors). */
export const INVALID_CREDENTIALS = 'Credenciales inválidas';

export async function messageOf(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.clone().json()) as { message?: unknown };
    return typeof body?.message === 'string' ? body.message : undefined;
  } catch {
    return undefined;
  }
}
