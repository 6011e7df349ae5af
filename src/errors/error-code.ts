import { HttpStatus } from '@nestjs/common';

// Statuses and messages live here and nowhere else: the filter, Swagger and the raw-socket answers read them.
export enum ErrorCode {
  InvalidRequest = 'INVALID_REQUEST',
  InvalidToken = 'INVALID_TOKEN',
  TokenExpired = 'TOKEN_EXPIRED',
  Forbidden = 'FORBIDDEN',
  EmailNotVerified = 'EMAIL_NOT_VERIFIED',
  AccountLocked = 'ACCOUNT_LOCKED',
  InvalidCredentials = 'INVALID_CREDENTIALS',
  InvalidMfaCode = 'INVALID_MFA_CODE',
  StepUpRequired = 'STEP_UP_REQUIRED',
  InvalidClient = 'INVALID_CLIENT',
  EmailTaken = 'EMAIL_TAKEN',
  NotFound = 'NOT_FOUND',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  RequestTimeout = 'REQUEST_TIMEOUT',
  TooManyRequests = 'TOO_MANY_REQUESTS',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  Internal = 'INTERNAL',
}

export const ERRORS: Record<ErrorCode, { status: HttpStatus; message: string }> = {
  [ErrorCode.InvalidRequest]: { status: HttpStatus.BAD_REQUEST, message: 'Solicitud inválida' },
  [ErrorCode.InvalidToken]: { status: HttpStatus.UNAUTHORIZED, message: 'Token no proporcionado o inválido' },
  [ErrorCode.TokenExpired]: { status: HttpStatus.FORBIDDEN, message: 'El token ha expirado' },
  [ErrorCode.Forbidden]: { status: HttpStatus.FORBIDDEN, message: 'No tiene permiso para esta acción' },
  [ErrorCode.EmailNotVerified]: { status: HttpStatus.FORBIDDEN, message: 'Debe verificar su correo electrónico' },
  [ErrorCode.AccountLocked]: { status: HttpStatus.FORBIDDEN, message: 'La cuenta está bloqueada' },
  [ErrorCode.InvalidCredentials]: { status: HttpStatus.UNAUTHORIZED, message: 'Credenciales inválidas' },
  [ErrorCode.InvalidMfaCode]: { status: HttpStatus.UNAUTHORIZED, message: 'Código de verificación inválido' },
  [ErrorCode.StepUpRequired]: { status: HttpStatus.UNAUTHORIZED, message: 'Se requiere autenticación reciente' },
  [ErrorCode.InvalidClient]: { status: HttpStatus.UNAUTHORIZED, message: 'Credenciales de cliente inválidas' },
  [ErrorCode.EmailTaken]: { status: HttpStatus.CONFLICT, message: 'El correo ya está registrado' },
  [ErrorCode.NotFound]: { status: HttpStatus.NOT_FOUND, message: 'Recurso no encontrado' },
  [ErrorCode.PayloadTooLarge]: { status: HttpStatus.PAYLOAD_TOO_LARGE, message: 'Solicitud demasiado grande' },
  [ErrorCode.RequestTimeout]: { status: HttpStatus.REQUEST_TIMEOUT, message: 'La solicitud tardó demasiado' },
  [ErrorCode.TooManyRequests]: {
    status: HttpStatus.TOO_MANY_REQUESTS,
    message: 'Demasiadas solicitudes, intente más tarde',
  },
  [ErrorCode.ServiceUnavailable]: { status: HttpStatus.SERVICE_UNAVAILABLE, message: 'Servicio no disponible' },
  [ErrorCode.Internal]: { status: HttpStatus.INTERNAL_SERVER_ERROR, message: 'Error interno del servidor' },
};

// For an application's own HttpException of a status the table does not name, when it gave no message.
export const STATUS_MESSAGES: Readonly<Partial<Record<number, string>>> = {
  [HttpStatus.NOT_ACCEPTABLE]: 'Formato de respuesta no aceptable',
  [HttpStatus.CONFLICT]: 'Conflicto con el estado actual del recurso',
  [HttpStatus.GONE]: 'El recurso ya no existe',
  [HttpStatus.PRECONDITION_FAILED]: 'No se cumple una condición previa',
  [HttpStatus.UNPROCESSABLE_ENTITY]: 'No se puede procesar la solicitud',
  [HttpStatus.NOT_IMPLEMENTED]: 'Función no implementada',
  [HttpStatus.BAD_GATEWAY]: 'Error en un servicio externo',
  [HttpStatus.GATEWAY_TIMEOUT]: 'Un servicio externo no respondió a tiempo',
};
export const OTHER_CLIENT_ERROR = 'Solicitud rechazada';

// Introspection answers in OAuth's words (RFC 6749 5.2), as its clients expect.
export const OAUTH_ERRORS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.InvalidClient]: 'invalid_client',
  [ErrorCode.InvalidRequest]: 'invalid_request',
  [ErrorCode.PayloadTooLarge]: 'invalid_request',
  [ErrorCode.RequestTimeout]: 'invalid_request',
  [ErrorCode.TooManyRequests]: 'temporarily_unavailable',
  [ErrorCode.ServiceUnavailable]: 'temporarily_unavailable',
};
export const OAUTH_SERVER_ERROR = 'server_error';

// Their answers carry `WWW-Authenticate: Bearer` (RFC 6750).
export const TOKEN_ERRORS: ReadonlySet<ErrorCode> = new Set([ErrorCode.InvalidToken, ErrorCode.TokenExpired]);
