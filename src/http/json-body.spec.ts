import { describe, expect, it } from 'vitest';
import { hasLoneSurrogate, hasNul, MAX_JSON_DEPTH, nestsDeeperThan } from './json-body.js';

const nested = (depth: number) => `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('nestsDeeperThan', () => {
  it('counts arrays and objects opened inside one another', () => {
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":{"c":1}}}', 2)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":1},"c":{"d":2}}', 2)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(nestsDeeperThan(`{"a":"${'['.repeat(100)}"}`, 1)).toBe(false);
    expect(nestsDeeperThan(`{"a":"\\"${'{'.repeat(100)}"}`, 1)).toBe(false);
    expect(nestsDeeperThan(`{"a\\\\":[[1]]}`, 2)).toBe(true);
  });

  it('scans a body far deeper than the stack allows without overflowing', () => {
    expect(nestsDeeperThan('['.repeat(1_000_000), MAX_JSON_DEPTH)).toBe(true);
  });
});

describe('hasLoneSurrogate', () => {
  const check = (text: string) => hasLoneSurrogate(text, JSON.parse(text));

  it('finds a lone high or low surrogate in a value or a key, at any depth', () => {
    expect(check('{"email":"a\\ud800b@example.com"}')).toBe(true);
    expect(check('{"password":"pass\\udbffword"}')).toBe(true);
    expect(check('{"x":["ok",{"y":"\\udc00"}]}')).toBe(true);
    expect(check('{"\\ud800":1}')).toBe(true);
  });

  it('accepts surrogate pairs, escaped or not, and text that only looks like an escape', () => {
    expect(check('{"a":"\\ud83d\\ude00"}')).toBe(false);
    expect(check('{"a":"😀"}')).toBe(false);
    expect(check('{"a":"\\\\ud800"}')).toBe(false);
    expect(check('{"a":"plain"}')).toBe(false);
  });
});

describe('hasNul', () => {
  const check = (text: string) => hasNul(text, JSON.parse(text));

  it('finds an escaped NUL in a value or a key, at any depth', () => {
    expect(check('{"email":"a\\u0000b@example.com"}')).toBe(true);
    expect(check('{"password":"pass\\u0000"}')).toBe(true);
    expect(check('{"x":["ok",{"y":"\\u0000"}]}')).toBe(true);
    expect(check('{"\\u0000":1}')).toBe(true);
  });

  it('accepts text that only looks like the escape', () => {
    expect(check('{"a":"\\\\u0000"}')).toBe(false);
    expect(check('{"a":"u0000"}')).toBe(false);
  });
});
