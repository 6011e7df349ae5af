import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { MetricsService } from '../metrics/metrics.service.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { RATE_LIMIT, type RateLimitName } from './rate-limit.decorator.js';

/**
 * Global, and registered before JwtAuthGuard, so a request is counted before its token is
 * looked at. A route is counted by the one limit its @RateLimit() names, and by no other:
 * ThrottlerGuard's own canActivate would walk every named limit and its per-route overrides on
 * every request, which this project does not use.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  // A property, so ThrottlerGuard's constructor and its injections stay as they are.
  @Inject(MetricsService) private readonly metrics!: MetricsService;

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const name = this.reflector.get<RateLimitName | undefined>(RATE_LIMIT, context.getHandler());
    const throttler = name && this.throttlers.find((t) => t.name === name);
    if (!throttler) return true;
    const ttl = throttler.ttl as number;
    return this.handleRequest({
      context,
      limit: throttler.limit as number,
      ttl,
      blockDuration: (throttler.blockDuration as number | undefined) ?? ttl,
      throttler,
      getTracker: throttler.getTracker ?? this.commonOptions.getTracker!,
      generateKey: throttler.generateKey ?? this.commonOptions.generateKey!,
    });
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const name = this.reflector.get<RateLimitName | undefined>(RATE_LIMIT, context.getHandler());
    this.metrics.rateLimitRefused(name ?? 'unknown');
    throw new AppException(ErrorCode.TooManyRequests, { retryAfter: detail.timeToBlockExpire });
  }
}
