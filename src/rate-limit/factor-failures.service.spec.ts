import { describe, expect, it, vi } from 'vitest';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { FactorFailuresService } from './factor-failures.service.js';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';

const config = { THROTTLE_LOGIN_LIMIT: 2, THROTTLE_LOGIN_TTL: 60 };
const metrics = { rateLimitRefused: vi.fn() };

describe('FactorFailuresService', () => {
  it('lets a user try until the limit of wrong proofs is spent, then refuses with the seconds left, without counting the refusals', async () => {
    const storage = new MemoryThrottlerStorage();
    const failures = new FactorFailuresService(config as never, storage, metrics as never);
    await failures.check('u1');
    await failures.failed('u1');
    await failures.check('u1');
    await failures.failed('u1');
    const refused = await failures.check('u1').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppException);
    expect(refused).toMatchObject({ code: ErrorCode.TooManyRequests, options: { retryAfter: 60 } });
    expect(await storage.peek('u1', 'factor_user')).toStrictEqual({ hits: 2, secondsLeft: 60 });
    // Another user has a count of their own.
    await failures.check('u2');
    storage.onApplicationShutdown();
  });

  it('peek: null without a window, and once it has ended', async () => {
    const storage = new MemoryThrottlerStorage();
    expect(await storage.peek('k', 'n')).toBeNull();
    storage.hit('n:k', 1_000, 5, 0);
    expect(await storage.peek('k', 'n', 500)).toStrictEqual({ hits: 1, secondsLeft: 1 });
    expect(await storage.peek('k', 'n', 1_000)).toBeNull();
    storage.onApplicationShutdown();
  });
});
