import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Window {
  hits: number;
  /** Epoch ms. */
  endsAt: number;
}

const SWEEP_MS = 60_000;

/** One map lookup a hit: @nestjs/throttler's storage filters a timestamp per hit on every hit, costlier than the request under load. */
export class MemoryThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();
  private sweeper?: NodeJS.Timeout;

  async increment(key: string, ttl: number, limit: number, _blockDuration: number, name: string): Promise<ThrottlerStorageRecord> {
    return this.hit(`${name}:${key}`, ttl, limit);
  }

  hit(key: string, ttl: number, limit: number, now = Date.now()): ThrottlerStorageRecord {
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { hits: 0, endsAt: now + ttl };
      this.windows.set(key, window);
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    }
    window.hits++;
    const seconds = Math.max(1, Math.ceil((window.endsAt - now) / 1000));
    const isBlocked = window.hits > limit;
    return { totalHits: window.hits, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
  }

  /** The window's hits so far and its seconds left, without counting one; null when no window is open. */
  async peek(key: string, name: string, now = Date.now()): Promise<{ hits: number; secondsLeft: number } | null> {
    const window = this.windows.get(`${name}:${key}`);
    if (!window || window.endsAt <= now) return null;
    return { hits: window.hits, secondsLeft: Math.max(1, Math.ceil((window.endsAt - now) / 1000)) };
  }

  sweep(now = Date.now()): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
    this.windows.clear();
  }
}
