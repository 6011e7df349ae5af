import { ErrorCode } from './error-code.js';

export interface AppExceptionOptions {
  errors?: string[];
  retryAfter?: number;
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
