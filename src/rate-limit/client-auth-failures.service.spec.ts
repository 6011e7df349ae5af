import { describe, expect, it, vi } from 'vitest';
import { ClientAuthFailuresService } from './client-auth-failures.service.js';
import { MemoryThrottlerStorage } from './memory-throttler.storage.js';

const config = { THROTTLE_INTROSPECTION_FAILURE_LIMIT: 2, THROTTLE_INTROSPECTION_FAILURE_TTL: 60 };
const metrics = { clientAuthFailed: vi.fn(), rateLimitRefused: vi.fn() };

function service() {
  const storage = new MemoryThrottlerStorage();
  const increment = vi.spyOn(storage, 'increment');
  return { failures: new ClientAuthFailuresService(config as never, storage, metrics as never), increment };
}

describe('ClientAuthFailuresService', () => {
  it('never touches the storage for a success', () => {
    const { failures, increment } = service();
    for (let i = 0; i < 100; i++) expect(failures.waitFor('10.0.0.1')).toBe(0);
    expect(increment).not.toHaveBeenCalled();
  });

  it('past the limit, refuses the address, successes included, until its window ends; then forgets it', async () => {
    const { failures, increment } = service();
    expect(await failures.failed('10.0.0.1', 'billing', 'r1')).toBe(0);
    expect(await failures.failed('10.0.0.1', 'billing', 'r2')).toBe(0);
    expect(await failures.failed('10.0.0.1', 'billing', 'r3')).toBe(60);
    // Blocked: the next failures are answered from memory, without a storage round trip.
    expect(await failures.failed('10.0.0.1', 'nobody', 'r4')).toBeGreaterThan(0);
    expect(increment).toHaveBeenCalledTimes(3);
    expect(failures.waitFor('10.0.0.1')).toBe(60);
    expect(failures.waitFor('10.0.0.2')).toBe(0);
    expect(failures.waitFor('10.0.0.1', Date.now() + 60_001)).toBe(0);
    expect(failures.waitFor('10.0.0.1')).toBe(0);
  });
});
