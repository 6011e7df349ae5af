import { Logger } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { validateEnv } from './env.validation.js';
import { trustProxyOf } from './app.config.js';

const envWith = (TRUST_PROXY?: string) => validateEnv(TRUST_PROXY === undefined ? {} : { TRUST_PROXY });

describe('trustProxyOf', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('unset → false (X-Forwarded-For ignored)', () => {
    expect(trustProxyOf(envWith())).toBe(false);
  });

  it('blank → false', () => {
    expect(trustProxyOf(envWith(''))).toBe(false);
  });

  it("'false' → false", () => {
    expect(trustProxyOf(envWith('false'))).toBe(false);
  });

  it("'true' → true", () => {
    expect(trustProxyOf(envWith('true'))).toBe(true);
  });

  it("'2' → a function trusting hops 0 and 1 only", () => {
    const trust = trustProxyOf(envWith('2'));
    expect(typeof trust).toBe('function');
    const fn = trust as (address: string, hop: number) => boolean;
    expect(fn('10.0.0.1', 0)).toBe(true);
    expect(fn('10.0.0.2', 1)).toBe(true);
    expect(fn('203.0.113.9', 2)).toBe(false);
    expect(fn('203.0.113.9', 3)).toBe(false);
  });

  it("'0' → a function trusting no hop", () => {
    const fn = trustProxyOf(envWith('0')) as (address: string, hop: number) => boolean;
    expect(typeof fn).toBe('function');
    expect(fn('10.0.0.1', 0)).toBe(false);
  });

  it("'10.0.0.1, 10.0.0.2' → the string, as given", () => {
    expect(trustProxyOf(envWith('10.0.0.1, 10.0.0.2'))).toBe('10.0.0.1, 10.0.0.2');
  });

  it('a CIDR → the string', () => {
    expect(trustProxyOf(envWith('10.0.0.0/8'))).toBe('10.0.0.0/8');
  });
});
