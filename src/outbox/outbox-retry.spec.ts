import { describe, expect, it } from 'vitest';
import { nextStep, OutcomeUnknown, PermanentFailure, retryDelaySeconds } from './outbox.worker.js';

// The outbox's retry rules: how long a failed message waits, and when it is given up or held.

const NOW = Date.parse('2026-01-01T12:00:00Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000);
const middle = () => 0.5;

describe('the outbox retry schedule (retryDelaySeconds)', () => {
  it('doubles from 2 s after each failed attempt, up to an hour', () => {
    expect([1, 2, 3, 4, 5, 10, 11, 12, 13, 50].map((n) => retryDelaySeconds(n, middle))).toStrictEqual([
      2, 4, 8, 16, 32, 1024, 2048, 3600, 3600, 3600,
    ]);
  });

  it('jitters each wait between 75 % and 125 % of it', () => {
    expect(retryDelaySeconds(5, () => 0)).toBe(24);
    expect(retryDelaySeconds(5, () => 0.999_999)).toBe(40);
    expect(retryDelaySeconds(50, () => 0)).toBe(2700);
    expect(retryDelaySeconds(50, () => 0.999_999)).toBe(4500);
  });
});

describe('the outbox step after a failed attempt (nextStep)', () => {
  const forever = {};
  const day = { giveUpAfterSeconds: 86_400 };

  it('a transient failure, without a limit: pending, after the default schedule, however many attempts', () => {
    const step = nextStep(forever, new Error('ECONNRESET'), 3, ago(10), NOW);
    expect(step.status).toBe('pending');
    expect(step.delay).toBeGreaterThanOrEqual(6);
    expect(step.delay).toBeLessThanOrEqual(10);
    expect(nextStep(forever, new Error('ECONNRESET'), 10_000, ago(365 * 86_400), NOW).status).toBe('pending');
  });

  it("uses the handler's own schedule when it has one", () => {
    const handler = { retryDelaySeconds: (attempts: number) => attempts * 100 };
    expect(nextStep(handler, new Error('HTTP 500'), 3, ago(10), NOW)).toStrictEqual({ status: 'pending', delay: 300 });
  });

  it('a permanent failure is dead at once, even with time left', () => {
    expect(nextStep(day, new PermanentFailure('HTTP 410'), 1, ago(1), NOW)).toMatchObject({ status: 'dead' });
    expect(nextStep(day, new PermanentFailure('HTTP 410'), 1, ago(1), NOW).expired).toBeUndefined();
  });

  it('an unknown outcome is held, never retried nor given up, even past the limit', () => {
    expect(nextStep(day, new OutcomeUnknown('no answer after DATA'), 1, ago(1), NOW)).toStrictEqual({ status: 'unknown', delay: 0 });
    expect(nextStep(day, new OutcomeUnknown('no answer after DATA'), 9, ago(90_000), NOW)).toStrictEqual({ status: 'unknown', delay: 0 });
  });

  it('with a limit: pending while within it, the last wait brought forward to the limit itself', () => {
    const hourly = { ...day, retryDelaySeconds: () => 3600 };
    expect(nextStep(hourly, new Error('HTTP 500'), 2, ago(3600), NOW)).toStrictEqual({ status: 'pending', delay: 3600 });
    expect(nextStep(hourly, new Error('HTTP 500'), 9, ago(86_400 - 10), NOW)).toStrictEqual({ status: 'pending', delay: 10 });
    expect(nextStep(hourly, new Error('HTTP 500'), 9, ago(86_400 - 0.5), NOW)).toStrictEqual({ status: 'pending', delay: 1 });
  });

  it('with a limit: dead (expired) once the message is that old, to the second', () => {
    expect(nextStep(day, new Error('HTTP 503'), 12, ago(86_400), NOW)).toMatchObject({ status: 'dead', expired: true });
    expect(nextStep(day, new Error('HTTP 503'), 12, ago(86_401), NOW)).toMatchObject({ status: 'dead', expired: true });
  });

  it('counts the age from now when not told the time', () => {
    expect(nextStep(day, new Error('HTTP 503'), 1, new Date(Date.now() - 86_401_000))).toMatchObject({ status: 'dead', expired: true });
    expect(nextStep(day, new Error('HTTP 503'), 1, new Date())).toMatchObject({ status: 'pending' });
  });
});
