import { Injectable, Logger } from '@nestjs/common';
import { InjectThrottlerStorage, normalizeIp, type ThrottlerStorage } from '@nestjs/throttler';
import { RateLimitConfig } from './rate-limit.config.js';
import { MetricsService } from '../metrics/metrics.service.js';

const LIMIT = 'introspection_client';
const SWEEP_AT = 10_000;

/** Successes never touch the storage: they are on every service's request path, and consult only the addresses this instance saw blocked. */
@Injectable()
export class ClientAuthFailuresService {
  private readonly logger = new Logger(ClientAuthFailuresService.name);
  private readonly limit: number;
  private readonly ttl: number;
  private readonly blocked = new Map<string, number>();

  constructor(
    config: RateLimitConfig,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
    private readonly metrics: MetricsService,
  ) {
    this.limit = config.THROTTLE_INTROSPECTION_FAILURE_LIMIT;
    this.ttl = config.THROTTLE_INTROSPECTION_FAILURE_TTL * 1000;
  }

  waitFor(ip: string, now = Date.now()): number {
    if (this.blocked.size === 0) return 0;
    const address = normalizeIp(ip);
    const endsAt = this.blocked.get(address);
    if (endsAt === undefined) return 0;
    if (endsAt <= now) {
      this.blocked.delete(address);
      return 0;
    }
    const seconds = Math.ceil((endsAt - now) / 1000);
    this.metrics.rateLimitRefused(LIMIT);
    return seconds;
  }

  /** Logged with the client id tried (never the secret) until the address is blocked; then once. */
  async failed(ip: string, clientId: string | undefined, requestId: string | undefined): Promise<number> {
    this.metrics.clientAuthFailed();
    const address = normalizeIp(ip);
    const waiting = this.waitFor(address);
    if (waiting) return waiting;
    const { isBlocked, timeToBlockExpire } = await this.storage.increment(address, this.ttl, this.limit, this.ttl, LIMIT);
    const context = { clientId: clientId ?? null, ip, requestId };
    if (!isBlocked) {
      this.logger.warn(context, 'Client authentication failed');
      return 0;
    }
    this.block(address, timeToBlockExpire);
    this.metrics.rateLimitRefused(LIMIT);
    this.logger.warn({ ...context, retryAfter: timeToBlockExpire }, 'Client authentication failed too often: the address is refused with 429 until its window ends, its failures no longer logged');
    return timeToBlockExpire;
  }

  private block(address: string, seconds: number, now = Date.now()): void {
    if (this.blocked.size >= SWEEP_AT) for (const [key, endsAt] of this.blocked) if (endsAt <= now) this.blocked.delete(key);
    this.blocked.set(address, now + seconds * 1000);
  }
}
