import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RateLimitConfig } from './rate-limit.config.js';

const LIMIT = 'factor_user';

interface PeekableStorage extends ThrottlerStorage {
  peek(key: string, name: string): Promise<{ hits: number; secondsLeft: number } | null>;
}

/**
 * Wrong second-factor proofs (and step-up passwords) per user, with the login limit's settings, in the
 * rate-limit storage (Redis when set, so every instance sees one count). Once a user has spent the
 * limit, every proof of that user is refused until the window ends, whatever mfaToken or address.
 */
@Injectable()
export class FactorFailuresService {
  private readonly limit: number;
  private readonly ttl: number;

  constructor(
    config: RateLimitConfig,
    @InjectThrottlerStorage() private readonly storage: PeekableStorage,
    private readonly metrics: MetricsService,
  ) {
    this.limit = config.THROTTLE_LOGIN_LIMIT;
    this.ttl = config.THROTTLE_LOGIN_TTL * 1000;
  }

  /** 429 with Retry-After once the user's wrong proofs reached the limit in the current window. */
  async check(userId: string): Promise<void> {
    const window = await this.storage.peek(userId, LIMIT);
    if (!window || window.hits < this.limit) return;
    this.metrics.rateLimitRefused(LIMIT);
    throw new AppException(ErrorCode.TooManyRequests, { retryAfter: window.secondsLeft });
  }

  async failed(userId: string): Promise<void> {
    await this.storage.increment(userId, this.ttl, this.limit, this.ttl, LIMIT);
  }
}
