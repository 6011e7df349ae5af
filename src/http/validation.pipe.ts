import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';

// class-validator's English, for the constraints our DTOs do not word themselves.
const BUILT_IN: Record<string, (property: string) => string> = {
  whitelistValidation: (property) => `${property} no está permitido`,
  unknownValue: () => 'El cuerpo debe ser un objeto JSON',
};

function details(error: ValidationError): string[] {
  return Object.entries(error.constraints ?? {}).map(([name, message]) => BUILT_IN[name]?.(error.property) ?? message);
}

// `transform` hands handlers a DTO instance even when an optional body is absent.
export const validationPipe = () =>
  new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => new AppException(ErrorCode.InvalidRequest, { errors: errors.flatMap(details) }),
  });
