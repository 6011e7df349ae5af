import { ErrorCode } from './error-code.js';

export interface AppExceptionOptions {
  /** Client-facing details, for 400s. */
  errors?: string[];
  /** Seconds, for 429s. */
  retryAfter?: number;
}

/** The one exception services throw on purpose; the filter turns it into an envelope. */
export class AppException extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly options: AppExceptionOptions = {},
  ) {
    super(code);
    this.name = 'AppException';
  }
}
