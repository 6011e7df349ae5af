import { envelope } from './messages.js';

// The second-factor routes' fixed messages, exact to the character, and the bodies that carry them.

export const MFA = {
  totpEnrolled: 'Escanee el código en su aplicación de autenticación',
  factorEnabled: 'Segundo factor activado',
  factors: 'Factores del usuario',
  factorRemoved: 'Factor eliminado',
  recoveryCodesReplaced: 'Códigos de recuperación generados',
  invalidCode: 'Código de verificación inválido',
  stepUpRequired: 'Se requiere autenticación reciente',
  mfaRequired: 'Se requiere un segundo factor',
  steppedUp: 'Autenticación confirmada',
  passkeyRegistered: 'Llave de acceso registrada',
  passkeyOptions: 'Opciones de llave de acceso',
} as const;

export const INVALID_CODE_BODY = envelope(MFA.invalidCode);
export const STEP_UP_BODY = envelope(MFA.stepUpRequired);
export const NOT_FOUND_BODY = envelope('Recurso no encontrado');

/** The RFC 9470 challenge of a step-up refusal, exact (RFC 6750 keeps its description ASCII). */
export const stepUpChallenge = (maxAge = 300) =>
  `Bearer error="insufficient_user_authentication", error_description="Se requiere autenticacion reciente", max_age=${maxAge}`;

/** `XXXX-XXXX-XXXX-XXXX` from the 32 symbols without 0/O or 1/I. */
export const RECOVERY_CODE = /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/;
