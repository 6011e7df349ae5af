import { describe, expect, it } from 'vitest';
import { bearerToken, MAX_TOKEN_LENGTH } from './bearer-token.js';

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

const withHeader = (authorization: string | string[] | undefined) => ({ headers: { authorization } });

describe('bearerToken', () => {
  it('returns the token of "Bearer <token>"', () => {
    expect(bearerToken(withHeader(`Bearer ${JWT}`))).toBe(JWT);
  });

  it.each(['bearer', 'BEARER', 'BeArEr'])('accepts the scheme case-insensitively (%s)', (scheme) => {
    expect(bearerToken(withHeader(`${scheme} ${JWT}`))).toBe(JWT);
  });

  it('allows several spaces between scheme and token', () => {
    expect(bearerToken(withHeader(`Bearer    ${JWT}`))).toBe(JWT);
  });

  it('keeps token68 trailing padding', () => {
    expect(bearerToken(withHeader('Bearer abc+/_-.~=='))).toBe('abc+/_-.~==');
  });

  it.each([
    ['something after the token', `Bearer ${JWT} extra`],
    ['a trailing space', `Bearer ${JWT} `],
    ['a second token', `Bearer ${JWT}, Bearer ${JWT}`],
    ['no space after the scheme', `Bearer${JWT}`],
    ['a tab instead of a space', `Bearer\t${JWT}`],
    ['only the scheme', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['another scheme', `Basic ${JWT}`],
    ['a token prefixed scheme', `Token ${JWT}`],
    ['a bare token', JWT],
    ['an empty header', ''],
    ['"=" inside the token', 'Bearer ab=cd'],
    ['characters outside token68', 'Bearer abc"def'],
  ])('returns null for %s', (_, header) => {
    expect(bearerToken(withHeader(header))).toBeNull();
  });

  it('returns null when there is no Authorization header', () => {
    expect(bearerToken({ headers: {} })).toBeNull();
    expect(bearerToken(withHeader(undefined))).toBeNull();
  });

  it('returns null for an array header', () => {
    expect(bearerToken(withHeader([`Bearer ${JWT}`]))).toBeNull();
    expect(bearerToken(withHeader([`Bearer ${JWT}`, `Bearer ${JWT}`]))).toBeNull();
  });

  it('accepts a token of exactly 4096 characters', () => {
    expect(MAX_TOKEN_LENGTH).toBe(4096);
    const token = 'a'.repeat(4096);
    expect(bearerToken(withHeader(`Bearer ${token}`))).toBe(token);
  });

  it('returns null for a token over 4096 characters', () => {
    expect(bearerToken(withHeader(`Bearer ${'a'.repeat(4097)}`))).toBeNull();
    expect(bearerToken(withHeader(`Bearer ${'a'.repeat(100_000)}`))).toBeNull();
  });
});
