import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerOptions } from '@nestjs/throttler';
import { MetricsService } from '../metrics/metrics.service.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { RATE_LIMIT, type RateLimitName } from './rate-limit.decorator.js';

/** Only the limits @RateLimit() names: ThrottlerGuard's canActivate walks every limit and override on every request. */
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
