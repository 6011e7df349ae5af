import { Injectable, Logger } from '@nestjs/common';
import { InjectThrottlerStorage, normalizeIp, type ThrottlerStorage } from '@nestjs/throttler';
import { RateLimitConfig } from './rate-limit.config.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** The storage's name for these counters, and the `limit` label of their 429s. */
const LIMIT = 'introspection_client';
/** Past this many blocked addresses, those whose window ended are dropped when another is added. */
const SWEEP_AT = 10_000;

/**
 * Failed authentications of the other services' clients (introspection, the event feed and
 * stream), counted per client address in the rate-limit storage (memory, or Redis for every
 * instance). Past THROTTLE_INTROSPECTION_FAILURE_LIMIT in a window, the address is refused with
 * 429 until the window ends, right credentials included: else a guess that matched would still
 * tell itself apart. Successes are on every service's request path, so they never touch the
 * storage: they consult only the addresses this instance saw blocked, a map lookup.
 */
@Injectable()
export class ClientAuthFailuresService {
  private readonly logger = new Logger(ClientAuthFailuresService.name);
  private readonly limit: number;
  private readonly ttl: number;
  /** Blocked addresses, as this instance learned on their failures: when their window ends (epoch ms). */
  private readonly blocked = new Map<string, number>();

  constructor(
    config: RateLimitConfig,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
    private readonly metrics: MetricsService,
  ) {
    this.limit = config.THROTTLE_INTROSPECTION_FAILURE_LIMIT;
    this.ttl = config.THROTTLE_INTROSPECTION_FAILURE_TTL * 1000;
  }

  /**
   * For a client that authenticated from `ip`: the seconds its address must still wait, or 0.
   * An address is the library's tracker's: an IPv6 client counts by its /64.
   */
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

  /**
   * Counts a failure: the seconds the address must wait when it is past the limit, else 0. Logged
   * with the client id that was tried (never the secret) until the address is blocked; then once.
   */
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
