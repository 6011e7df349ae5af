import { type DynamicModule, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { ClientAuthFailuresService } from './client-auth-failures.service.js';
import { FactorFailuresService } from './factor-failures.service.js';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';
import type { RateLimitConfig } from './rate-limit.config.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';
import { loginTracker, recipientTracker, refreshTracker } from './trackers.js';

/** Global: the other services' client guard counts its failures in the same storage. */
@Module({})
export class RateLimitModule {
  static forRoot(env: RateLimitConfig): DynamicModule {
    return {
      module: RateLimitModule,
      global: true,
      imports: [
        ThrottlerModule.forRoot({
          throttlers: [
            { name: 'logout', limit: env.THROTTLE_LOGOUT_LIMIT, ttl: env.THROTTLE_LOGOUT_TTL * 1000 },
            { name: 'login', limit: env.THROTTLE_LOGIN_LIMIT, ttl: env.THROTTLE_LOGIN_TTL * 1000, getTracker: loginTracker },
            { name: 'refresh', limit: env.THROTTLE_REFRESH_LIMIT, ttl: env.THROTTLE_REFRESH_TTL * 1000, getTracker: refreshTracker },
            // Hashing or mailing with no password to check: per address only, login's settings.
            { name: 'account', limit: env.THROTTLE_LOGIN_LIMIT, ttl: env.THROTTLE_LOGIN_TTL * 1000 },
            { name: 'recipient', limit: env.THROTTLE_FORGOT_RECIPIENT_LIMIT, ttl: env.THROTTLE_FORGOT_RECIPIENT_TTL * 1000, getTracker: recipientTracker },
          ],
          setHeaders: false,
          storage: env.REDIS_URL ? new RedisThrottlerStorage(env.REDIS_URL) : new MemoryThrottlerStorage(),
        }),
      ],
      providers: [ClientAuthFailuresService, FactorFailuresService],
      exports: [ThrottlerModule, ClientAuthFailuresService, FactorFailuresService],
    };
  }
}
