import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERRORS, ErrorCode } from '../errors/error-code.js';

const EXAMPLE_DETAILS: Partial<Record<ErrorCode, string[]>> = {
  [ErrorCode.InvalidRequest]: ['El cuerpo no es JSON válido'],
};

const json = (example: object) => ({ 'application/json': { example } });

/** Documents a success envelope with its exact message. */
export function ApiSuccess(status: number, message: string, data?: object) {
  return ApiResponse({
    status,
    description: message,
    content: json(data ? { success: true, message, data } : { success: true, message }),
  });
}

/** Documents error envelopes, taking status and message from the one table the filter uses. */
export function ApiErrors(...codes: ErrorCode[]) {
  return applyDecorators(
    ...codes.map((code) => {
      const { status, message } = ERRORS[code];
      const errors = EXAMPLE_DETAILS[code];
      return ApiResponse({
        status,
        description: message,
        content: json(errors ? { success: false, message, errors } : { success: false, message }),
      });
    }),
  );
}
