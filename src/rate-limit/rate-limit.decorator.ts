import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT = 'rateLimit';

/** The named limits, configured in rate-limit.module.ts. */
export type RateLimitName = 'login' | 'logout' | 'refresh';

/** The one limit that applies to a route; a route without it is not limited. */
export const RateLimit = (name: RateLimitName) => SetMetadata(RATE_LIMIT, name);
