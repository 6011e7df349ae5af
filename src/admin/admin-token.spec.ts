import { describe, expect, it } from 'vitest';
import { fingerprintOf, matchingToken } from './admin-token.js';

describe('admin tokens', () => {
  const tokens = ['a'.repeat(32), 'b'.repeat(40)];

  it('matches only a token of the list, whole', () => {
    expect(matchingToken('a'.repeat(32), tokens)).toBe(tokens[0]);
    expect(matchingToken('b'.repeat(40), tokens)).toBe(tokens[1]);
    for (const presented of ['', 'a'.repeat(31), 'a'.repeat(33), 'A'.repeat(32)]) expect(matchingToken(presented, tokens)).toBeUndefined();
  });

  it('names a token by 16 hex digits of its SHA-256, never by itself', () => {
    expect(fingerprintOf('a'.repeat(32))).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprintOf('a'.repeat(32))).not.toBe(fingerprintOf('b'.repeat(40)));
  });
});
