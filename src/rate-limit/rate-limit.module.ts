import { type DynamicModule, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { ClientAuthFailuresService } from './client-auth-failures.service.js';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';
import type { RateLimitConfig } from './rate-limit.config.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';
import { loginTracker, recipientTracker, refreshTracker } from './trackers.js';

/**
 * The named limits (@RateLimit on a route picks them), counted in fixed windows in memory or, with
 * REDIS_URL, in Redis for every instance. The guard (rate-limit.guard.ts) is global, registered in
 * app.module.ts before the auth guard. Global too: the other services' client guard counts its
 * failures through ClientAuthFailuresService, in the same storage.
 */
@Module({})
export class RateLimitModule {
  static forRoot(env: RateLimitConfig): DynamicModule {
    return {
      module: RateLimitModule,
      global: true,
      imports: [
        ThrottlerModule.forRoot({
          throttlers: [
            // Per client address, before the token is looked at.
            { name: 'logout', limit: env.THROTTLE_LOGOUT_LIMIT, ttl: env.THROTTLE_LOGOUT_TTL * 1000 },
            { name: 'login', limit: env.THROTTLE_LOGIN_LIMIT, ttl: env.THROTTLE_LOGIN_TTL * 1000, getTracker: loginTracker },
            { name: 'refresh', limit: env.THROTTLE_REFRESH_LIMIT, ttl: env.THROTTLE_REFRESH_TTL * 1000, getTracker: refreshTracker },
            // The routes that hash or mail with no password to check (register, forgot, reset,
            // verify, resend): per client address only, login's settings. Each route counts apart.
            { name: 'account', limit: env.THROTTLE_LOGIN_LIMIT, ttl: env.THROTTLE_LOGIN_TTL * 1000 },
            { name: 'recipient', limit: env.THROTTLE_FORGOT_RECIPIENT_LIMIT, ttl: env.THROTTLE_FORGOT_RECIPIENT_TTL * 1000, getTracker: recipientTracker },
          ],
          setHeaders: false,
          storage: env.REDIS_URL ? new RedisThrottlerStorage(env.REDIS_URL) : new MemoryThrottlerStorage(),
        }),
      ],
      providers: [ClientAuthFailuresService],
      exports: [ThrottlerModule, ClientAuthFailuresService],
    };
  }
}
