import { SetMetadata } from '@nestjs/common';

export const RATE_LIMIT = 'rateLimit';

export type RateLimitName = 'login' | 'logout' | 'refresh' | 'account' | 'recipient';

/** Counted in this order: a request refused by one is not counted by the next. */
export const RateLimit = (...names: [RateLimitName, ...RateLimitName[]]) => SetMetadata(RATE_LIMIT, names);
