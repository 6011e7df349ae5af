import { describe, expect, it, vi } from 'vitest';
import { parsedOnce } from './parsed-once.js';

describe('parsedOnce', () => {
  it('parses an environment once, another environment again', () => {
    const parse = vi.fn((env: { LIST: string }) => env.LIST.split(','));
    const listOf = parsedOnce(parse);
    const env = { LIST: 'a,b' };
    expect(listOf(env)).toBe(listOf(env));
    expect(listOf({ LIST: 'c' })).toEqual(['c']);
    expect(parse).toHaveBeenCalledTimes(2);
  });

  it('keeps no result of a parse that threw', () => {
    const listOf = parsedOnce((env: { LIST?: string }) => {
      if (!env.LIST) throw new Error('Invalid configuration: LIST is required');
      return env.LIST;
    });
    const env: { LIST?: string } = {};
    expect(() => listOf(env)).toThrow('LIST is required');
    expect(() => listOf(env)).toThrow('LIST is required');
  });
});
