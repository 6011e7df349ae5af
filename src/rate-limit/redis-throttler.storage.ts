import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

// Fixed window, as in memory: the first hit starts the window; count and remaining time come back atomically.
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { hits, redis.call('PTTL', KEYS[1]) }`;

const PEEK = `return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }`;

const COMMAND_TIMEOUT_MS = 300;
const RETRY_AFTER_MS = 3000;

/** While Redis does not answer, each instance counts in memory: a logout must not fail nor wait for a counter store. */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly redis: Redis;
  private readonly fallback = new MemoryThrottlerStorage();
  private degraded = false;
  private retryAt = 0;

  constructor(url: string) {
    this.redis = new Redis(url, {
      // Fail at once instead of queueing commands while not connected; ioredis reconnects by itself.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // A peer that accepts TCP but never answers: connectTimeout covers TCP only, this the handshake and commands.
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 1000,
      // A timed-out command was already counted in memory: on reconnect it must not be sent again.
      autoResendUnfulfilledCommands: false,
    });
    this.redis.on('error', () => undefined); // reported once per outage, below
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, name: string): Promise<ThrottlerStorageRecord> {
    if (this.degraded) {
      if (Date.now() < this.retryAt) return this.fallback.increment(key, ttl, limit, blockDuration, name);
      // This request tries Redis; the ones arriving meanwhile stay in memory instead of waiting too.
      this.retryAt = Date.now() + RETRY_AFTER_MS;
    }
    try {
      // A command that timed out stays rejected: ioredis matches a late reply to it and drops it.
      const [hits, pttl] = (await this.redis.eval(INCREMENT, 1, `throttle:${name}:${key}`, ttl)) as [number, number];
      if (this.degraded) this.logger.log('Redis is back: rate-limit counters are shared again');
      this.degraded = false;
      const seconds = Math.max(1, Math.ceil(pttl / 1000));
      const isBlocked = hits > limit;
      return { totalHits: hits, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
    } catch (err) {
      if (!this.degraded) {
        this.logger.warn({ err }, 'Redis unreachable or not answering: counting rate limits per instance until it is back');
      }
      this.degraded = true;
      this.retryAt = Date.now() + RETRY_AFTER_MS;
      return this.fallback.increment(key, ttl, limit, blockDuration, name);
    }
  }

  /** As MemoryThrottlerStorage.peek; while Redis does not answer, this instance's own count. */
  async peek(key: string, name: string): Promise<{ hits: number; secondsLeft: number } | null> {
    if (this.degraded && Date.now() < this.retryAt) return this.fallback.peek(key, name);
    try {
      const [hits, pttl] = (await this.redis.eval(PEEK, 1, `throttle:${name}:${key}`)) as [string | null, number];
      return hits === null || pttl <= 0 ? null : { hits: Number(hits), secondsLeft: Math.max(1, Math.ceil(pttl / 1000)) };
    } catch {
      return this.fallback.peek(key, name);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.fallback.onApplicationShutdown();
    this.redis.disconnect();
  }
}
