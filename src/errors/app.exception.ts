import { ErrorCode } from './error-code.js';

export interface AppExceptionOptions {
  errors?: string[];
  retryAfter?: number;
  /** StepUpRequired: the `max_age` of its RFC 9470 challenge, in seconds. */
  maxAge?: number;
}

export class AppException extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly options: AppExceptionOptions = {},
  ) {
    super(code);
    this.name = 'AppException';
  }
}
