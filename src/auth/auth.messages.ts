/** The success messages of the auth routes, exact to the character (see the contract). */
export const AUTH_MESSAGES = {
  registered: 'Usuario registrado exitosamente',
  loggedIn: 'Inicio de sesión exitoso',
  me: 'Usuario autenticado',
  loggedOut: 'Sesión cerrada exitosamente',
  refreshed: 'Token renovado exitosamente',
  sessions: 'Sesiones del usuario',
  passwordChanged: 'Contraseña actualizada exitosamente',
} as const;
