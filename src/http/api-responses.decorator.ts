import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiResponse, type ApiResponseOptions, getSchemaPath } from '@nestjs/swagger';
import { ERRORS, ErrorCode } from '../errors/error-code.js';
import { ErrorEnvelopeDto } from './error-envelope.dto.js';

const EXAMPLE_DETAILS: Partial<Record<ErrorCode, string[]>> = {
  [ErrorCode.InvalidRequest]: ['El cuerpo no es JSON válido'],
};

const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

// A named component per handler (`LoginResponse`), so that generators name its type; operation ids are unique, so are these.
function envelopeClass(name: string, message: string, data: Type<unknown> | undefined, optionalData: boolean): Type<unknown> {
  const envelope = { [name]: class {} }[name]!;
  ApiProperty({ type: Boolean, enum: [true] })(envelope.prototype, 'success');
  ApiProperty({ type: String, example: message })(envelope.prototype, 'message');
  if (data) ApiProperty({ type: () => data, required: !optionalData })(envelope.prototype, 'data');
  return envelope;
}

export function ApiSuccess(
  status: number,
  message: string,
  data?: Type<unknown>,
  { optionalData = false, headers }: { optionalData?: boolean; headers?: ApiResponseOptions['headers'] } = {},
): MethodDecorator {
  return (target, key, descriptor) => {
    const envelope = envelopeClass(`${pascal(String(key))}Response`, message, data, optionalData);
    applyDecorators(
      ApiExtraModels(envelope),
      ApiResponse({ status, description: message, type: envelope, ...(headers && { headers }) }),
    )(target, key, descriptor);
  };
}

// Codes sharing a status (401 for a token and for credentials) become examples of one response.
export function errorResponses(codes: readonly ErrorCode[]): Record<number, ApiResponseOptions & { description: string }> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, sharing]) => [
      status,
      {
        description: sharing.map((code) => ERRORS[code].message).join(' / '),
        content: {
          'application/json': {
            schema: { $ref: getSchemaPath(ErrorEnvelopeDto) },
            examples: Object.fromEntries(
              sharing.map((code) => {
                const { message } = ERRORS[code];
                const errors = EXAMPLE_DETAILS[code];
                return [code, { summary: message, value: errors ? { success: false, message, errors } : { success: false, message } }];
              }),
            ),
          },
        },
      },
    ]),
  );
}

export function ApiErrors(...codes: ErrorCode[]) {
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto),
    ...Object.entries(errorResponses(codes)).map(([status, response]) => ApiResponse({ status: Number(status), ...response })),
  );
}
