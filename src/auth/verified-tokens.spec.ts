import { describe, expect, it } from 'vitest';
import { VerifiedTokens } from './verified-tokens.js';

describe('VerifiedTokens', () => {
  it('gives back the claims remembered for exactly that text, frozen; nothing for any other text', () => {
    const verified = new VerifiedTokens();
    const claims = verified.remember('a.b.c', { sub: 'u', sid: 's', exp: 1 });
    expect(verified.get('a.b.c')).toBe(claims);
    expect(Object.isFrozen(claims)).toBe(true);
    expect(verified.get('a.b.C')).toBeUndefined();
    expect(verified.get('a.b.c ')).toBeUndefined();
  });

  it('keeps at most max tokens, forgetting the oldest first', () => {
    const verified = new VerifiedTokens(3);
    for (const token of ['t1', 't2', 't3', 't4']) verified.remember(token, { token });
    expect(verified.size).toBe(3);
    expect(verified.get('t1')).toBeUndefined();
    expect(verified.get('t4')).toEqual({ token: 't4' });
  });
});
