/** The success messages of the auth routes, exact to the character (see the contract). */
export const AUTH_MESSAGES = {
  registered: 'Usuario registrado exitosamente',
  loggedIn: 'Inicio de sesión exitoso',
  mfaRequired: 'Se requiere un segundo factor',
  me: 'Usuario autenticado',
  loggedOut: 'Sesión cerrada exitosamente',
  refreshed: 'Token renovado exitosamente',
  sessions: 'Sesiones del usuario',
  passwordChanged: 'Contraseña actualizada exitosamente',
  resetRequested: 'Si el correo está registrado, recibirá un enlace para restablecer la contraseña',
  passwordReset: 'Contraseña restablecida exitosamente',
  emailVerified: 'Correo verificado exitosamente',
  verificationSent: 'Si el correo no está verificado, recibirá un enlace para verificarlo',
  accountDeleted: 'Cuenta eliminada exitosamente',
} as const;
