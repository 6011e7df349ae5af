import { describe, expect, it } from 'vitest';
import { bearerToken } from './result.js';
import { isAfter } from './wire-parse.js';

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def-_~+/=', 'abc.def-_~+/='],
    ['bearer a.b.c', 'a.b.c'],
    ['BEARER a.b.c', 'a.b.c'],
  ])('reads %s', (header, token) => expect(bearerToken(header)).toBe(token));

  it.each([undefined, '', 'Bearer', 'Bearer ', 'Basic a.b.c', 'a.b.c', 'Bearer a b', 'Bearer a,b', ' Bearer a'])('refuses %j', (header) =>
    expect(bearerToken(header)).toBeUndefined(),
  );
});

describe('isAfter', () => {
  it('orders decimal cursors by value, not as text', () => {
    expect(isAfter('10', '9')).toBe(true);
    expect(isAfter('9', '10')).toBe(false);
    expect(isAfter('10', '10')).toBe(false);
    expect(isAfter('123456789012345678901', '123456789012345678900')).toBe(true);
  });
});
