import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, type ApiResponseOptions, getSchemaPath } from '@nestjs/swagger';
import { ERRORS, ErrorCode } from '../errors/error-code.js';
import { ErrorEnvelopeDto } from './error-envelope.dto.js';

const EXAMPLE_DETAILS: Partial<Record<ErrorCode, string[]>> = {
  [ErrorCode.InvalidRequest]: ['El cuerpo no es JSON válido'],
};

/**
 * Documents a success envelope: its exact message, and `data` typed by a class whose properties
 * carry @ApiProperty, so that a client generator types it. `optionalData`: `data` only sometimes.
 * `headers`: the response headers worth documenting.
 */
export function ApiSuccess(
  status: number,
  message: string,
  data?: Type<unknown>,
  { optionalData = false, headers }: { optionalData?: boolean; headers?: ApiResponseOptions['headers'] } = {},
) {
  const required = data && !optionalData ? ['success', 'message', 'data'] : ['success', 'message'];
  const schema = {
    type: 'object' as const,
    required,
    properties: {
      success: { type: 'boolean' as const, enum: [true] },
      message: { type: 'string' as const, example: message },
      ...(data && { data: { $ref: getSchemaPath(data) } }),
    },
  };
  return applyDecorators(
    ...(data ? [ApiExtraModels(data)] : []),
    ApiResponse({ status, description: message, ...(headers && { headers }), content: { 'application/json': { schema } } }),
  );
}

/**
 * Documents error envelopes, taking status and message from the one table the filter uses. Codes
 * that share a status (401 for a token and for credentials) become examples of one response.
 */
export function ApiErrors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto),
    ...[...byStatus].map(([status, sharing]) =>
      ApiResponse({
        status,
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
      }),
    ),
  );
}
