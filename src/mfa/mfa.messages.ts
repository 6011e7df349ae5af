/** The success messages of the second-factor routes, exact to the character (see docs/api.md). */
export const MFA_MESSAGES = {
  totpEnrolled: 'Escanee el código en su aplicación de autenticación',
  factorEnabled: 'Segundo factor activado',
  steppedUp: 'Autenticación confirmada',
  factors: 'Factores del usuario',
  factorRemoved: 'Factor eliminado',
  recoveryCodesReplaced: 'Códigos de recuperación generados',
  passkeyRegistered: 'Llave de acceso registrada',
  passkeyOptions: 'Opciones de llave de acceso',
} as const;
