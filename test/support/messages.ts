// The API's fixed messages, and the exact bodies that carry them.

export const MESSAGES = {
  loggedOut: 'Sesión cerrada exitosamente',
  invalidRequest: 'Solicitud inválida',
  invalidToken: 'Token no proporcionado o inválido',
  expired: 'El token ha expirado',
  notFound: 'Recurso no encontrado',
  tooLarge: 'Solicitud demasiado grande',
  tooMany: 'Demasiadas solicitudes, intente más tarde',
  internal: 'Error interno del servidor',
  registered: 'Usuario registrado exitosamente',
  emailTaken: 'El correo ya está registrado',
  loggedIn: 'Inicio de sesión exitoso',
  badCredentials: 'Credenciales inválidas',
  refreshed: 'Token renovado exitosamente',
  sessions: 'Sesiones del usuario',
  passwordChanged: 'Contraseña actualizada exitosamente',
  resetRequested: 'Si el correo está registrado, recibirá un enlace para restablecer la contraseña',
  passwordReset: 'Contraseña restablecida exitosamente',
  emailVerified: 'Correo verificado exitosamente',
  verificationSent: 'Si el correo no está verificado, recibirá un enlace para verificarlo',
  accountDeleted: 'Cuenta eliminada exitosamente',
} as const;

/** The body of a failure answer with `message`, byte for byte. */
export const envelope = (message: string) => JSON.stringify({ success: false, message });

/** The one 401 body every token failure must answer with, byte for byte. */
export const INVALID_TOKEN_BODY = envelope(MESSAGES.invalidToken);
export const EXPIRED_BODY = envelope(MESSAGES.expired);
export const TOO_MANY_BODY = envelope(MESSAGES.tooMany);
export const BAD_CREDENTIALS_BODY = envelope(MESSAGES.badCredentials);
export const LOGGED_OUT_BODY = JSON.stringify({ success: true, message: MESSAGES.loggedOut });
