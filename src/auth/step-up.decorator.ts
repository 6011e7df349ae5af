import { SetMetadata } from '@nestjs/common';

export const STEP_UP = 'step-up';

export interface StepUpOptions {
  /** For a user without factors the route's own proof (its current password) is enough. */
  onlyWithFactors?: boolean;
}

/**
 * RFC 9470: this session must have proved a factor (or, without factors, the password) within
 * STEP_UP_MAX_AGE seconds; otherwise 401 with an `insufficient_user_authentication` challenge.
 */
export const StepUp = (options: StepUpOptions = {}) => SetMetadata(STEP_UP, options);
