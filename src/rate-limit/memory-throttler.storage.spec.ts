import { describe, expect, it } from 'vitest';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';

describe('MemoryThrottlerStorage', () => {
  it('counts hits in a window the first hit starts; past the limit, blocked until it ends', () => {
    const storage = new MemoryThrottlerStorage();
    const t0 = 1_000_000;
    expect(storage.hit('k', 60_000, 2, t0)).toStrictEqual({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
    expect(storage.hit('k', 60_000, 2, t0 + 10_000)).toMatchObject({ totalHits: 2, isBlocked: false });
    expect(storage.hit('k', 60_000, 2, t0 + 20_500)).toStrictEqual({ totalHits: 3, timeToExpire: 40, isBlocked: true, timeToBlockExpire: 40 });
    expect(storage.hit('k', 60_000, 2, t0 + 59_999)).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    // The window ended: a new one starts with this hit.
    expect(storage.hit('k', 60_000, 2, t0 + 60_000)).toStrictEqual({ totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 });
  });

  it('keeps keys and limit names apart', async () => {
    const storage = new MemoryThrottlerStorage();
    await storage.increment('a', 60_000, 1, 60_000, 'login');
    expect((await storage.increment('a', 60_000, 1, 60_000, 'login')).isBlocked).toBe(true);
    expect((await storage.increment('a', 60_000, 1, 60_000, 'logout')).isBlocked).toBe(false);
    expect((await storage.increment('b', 60_000, 1, 60_000, 'login')).isBlocked).toBe(false);
    storage.onApplicationShutdown();
  });

  it('sweep drops only the windows that have ended', () => {
    const storage = new MemoryThrottlerStorage();
    storage.hit('short', 1_000, 5, 0);
    storage.hit('long', 60_000, 5, 0);
    storage.sweep(1_000);
    expect(storage.size).toBe(1);
    storage.onApplicationShutdown();
  });
});
