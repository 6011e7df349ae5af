import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT = 'rateLimit';

/** The named limits, configured in rate-limit.module.ts. */
export type RateLimitName = 'login' | 'logout' | 'refresh' | 'account' | 'recipient';

/**
 * The limits that apply to a route, counted in this order (a request refused by one is not
 * counted by the next); a route without it is not limited.
 */
export const RateLimit = (...names: [RateLimitName, ...RateLimitName[]]) => SetMetadata(RATE_LIMIT, names);
