import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerOptions } from '@nestjs/throttler';
import { MetricsService } from '../metrics/metrics.service.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { RATE_LIMIT, type RateLimitName } from './rate-limit.decorator.js';

/**
 * Global, and registered before JwtAuthGuard, so a request is counted before its token is
 * looked at. A route is counted by the limits its @RateLimit() names, in order, and by no other:
 * ThrottlerGuard's own canActivate would walk every named limit and its per-route overrides on
 * every request, which this project does not use. A tracker that answers '' has nothing to
 * count the request by (forgot's recipient in a body that validation will refuse).
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  // A property, so ThrottlerGuard's constructor and its injections stay as they are.
  @Inject(MetricsService) private readonly metrics!: MetricsService;

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const names = this.reflector.get<RateLimitName[] | undefined>(RATE_LIMIT, context.getHandler());
    if (!names) return true;
    const request = context.switchToHttp().getRequest<Record<string, unknown>>();
    for (const name of names) {
      const throttler = this.throttlers.find((t) => t.name === name);
      if (throttler) await this.count(context, request, name, throttler);
    }
    return true;
  }

  private async count(context: ExecutionContext, request: Record<string, unknown>, name: RateLimitName, throttler: ThrottlerOptions): Promise<void> {
    const tracker = await (throttler.getTracker ?? this.commonOptions.getTracker!)(request, context);
    if (tracker === '') return;
    const ttl = throttler.ttl as number;
    const key = (throttler.generateKey ?? this.commonOptions.generateKey!)(context, tracker, name);
    const { isBlocked, timeToBlockExpire } = await this.storageService.increment(key, ttl, throttler.limit as number, ttl, name);
    if (!isBlocked) return;
    this.metrics.rateLimitRefused(name);
    throw new AppException(ErrorCode.TooManyRequests, { retryAfter: timeToBlockExpire });
  }
}
