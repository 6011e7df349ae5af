import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
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

const declaredBy = new WeakMap<object, Set<string>>();
const declared = (metatype: object): Set<string> => {
  let names = declaredBy.get(metatype);
  if (!names) {
    names = new Set(getMetadataStorage().getTargetValidationMetadatas(metatype as new () => object, '', true, false).map((m) => m.propertyName));
    declaredBy.set(metatype, names);
  }
  return names;
};

/**
 * class-transformer drops a key named like a member of Object.prototype (`toString`, `valueOf`)
 * before the whitelist sees it, so such an extra key would pass silently: it is refused like any other.
 */
class BodyValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype, type } = metadata;
    if (type === 'body' && metatype && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const hidden = Object.keys(value).filter((key) => key in Object.prototype && !declared(metatype).has(key));
      if (hidden.length) throw new AppException(ErrorCode.InvalidRequest, { errors: hidden.map(BUILT_IN.whitelistValidation!) });
    }
    return super.transform(value, metadata);
  }
}

// `transform` hands handlers a DTO instance even when an optional body is absent.
export const validationPipe = () =>
  new BodyValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => new AppException(ErrorCode.InvalidRequest, { errors: errors.flatMap(details) }),
  });
