import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasControl, isTextParams, isTextQuery } from './url-text.js';

describe('isTextQuery', () => {
  it.each(['', 'email=ana', 'email=jos%C3%A9&limit=5', 'q=a+b', 'cursor=eyJ0IjoxfQ', 'a=%F0%9F%98%80', 'x', 'a=&b', 'e=a%40b.co'])(
    'accepts %j',
    (query) => expect(isTextQuery(query)).toBe(true),
  );

  it.each([
    ['a NUL', 'email=%00'],
    ['a NUL in a name', '%00=1'],
    ['another C0 control', 'email=a%01b'],
    ['a newline', 'email=a%0Ab'],
    ['DEL', 'email=%7F'],
    ['a C1 control', 'email=%C2%85'],
    ['invalid UTF-8', 'email=%C3%28'],
    ['an encoded surrogate', 'email=%ED%A0%80'],
    ['a lone continuation byte', 'email=%80'],
    ['an overlong encoding', 'email=%C0%AF'],
    ['a truncated escape', 'email=a%2'],
    ['a bare percent', 'email=%'],
    ['a raw byte above ASCII', 'email=jos\u00e9'],
  ])('refuses %s: %j', (_, query) => expect(isTextQuery(query)).toBe(false));

  it('accepts any well-formed text without controls, as a browser encodes it, and refuses it with a control added', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !hasControl(s));
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 0x1f }), (value, control) => {
        expect(isTextQuery(new URLSearchParams({ q: value }).toString())).toBe(true);
        expect(isTextQuery(new URLSearchParams({ q: value + String.fromCharCode(control) }).toString())).toBe(false);
      }),
    );
  });
});

describe('isTextParams', () => {
  it('refuses a parameter holding a control character, and accepts any other text', () => {
    expect(isTextParams({ id: 'a\u0000b' })).toBe(false);
    expect(isTextParams({ id: '\u009f' })).toBe(false);
    expect(isTextParams({ id: '4f9c8e52-0a31-4c43-9bd1-1b4f7a1d2e3f', provider: 'José' })).toBe(true);
    expect(isTextParams(null)).toBe(true);
  });
});
