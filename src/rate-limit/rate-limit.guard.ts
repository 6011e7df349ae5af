import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerRequest } from '@nestjs/throttler';
import { MetricsService } from '../metrics/metrics.service.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { RATE_LIMIT, type RateLimitName } from './rate-limit.decorator.js';

/**
 * Global, and registered before JwtAuthGuard, so a request is counted before its token is
 * looked at. Applies to a route only the limit named by its @RateLimit().
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  // A property, so ThrottlerGuard's constructor and its injections stay as they are.
  @Inject(MetricsService) private readonly metrics!: MetricsService;

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return !this.limitOf(context);
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    if (request.throttler.name !== this.limitOf(request.context)) return true;
    return super.handleRequest(request);
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    this.metrics.rateLimitRefused(this.limitOf(context) ?? 'unknown');
    throw new AppException(ErrorCode.TooManyRequests, { retryAfter: detail.timeToBlockExpire });
  }

  private limitOf(context: ExecutionContext): RateLimitName | undefined {
    return this.reflector.get<RateLimitName | undefined>(RATE_LIMIT, context.getHandler());
  }
}
