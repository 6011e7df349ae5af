import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT = 'rateLimit';

/** The named limit ('login' or 'logout', configured in app.module.ts) that applies to a route. */
export type RateLimitName = 'login' | 'logout';

export const RateLimit = (name: RateLimitName) => SetMetadata(RATE_LIMIT, name);
