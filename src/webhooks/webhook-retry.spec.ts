import { describe, expect, it } from 'vitest';
import { WEBHOOK_GIVE_UP_AFTER_SECONDS, webhookRetryDelaySeconds } from './webhook-retry.js';

describe('the webhook retry schedule', () => {
  const at = (random: number) => (attempts: number) => webhookRetryDelaySeconds(attempts, () => random);

  it('waits 5 s, 30 s, 2 min, 5 min, 30 min, 1 h, 2 h, then every 4 h', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(at(0.5))).toStrictEqual([5, 30, 120, 300, 1800, 3600, 7200, 14_400, 14_400]);
  });

  it('jitters each wait by ±20 %', () => {
    expect([at(0)(2), at(0.999_999)(2)]).toStrictEqual([24, 36]);
    expect(at(0)(8)).toBe(11_520);
  });

  it('fits a dozen attempts in the 24 hours', () => {
    let elapsed = 0;
    let attempts = 0;
    while (elapsed < WEBHOOK_GIVE_UP_AFTER_SECONDS) elapsed += at(0.5)(++attempts);
    expect(attempts).toBeGreaterThanOrEqual(10);
  });
});
