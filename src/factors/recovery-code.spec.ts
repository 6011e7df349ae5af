import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-code.js';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const FORMAT = /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/;

describe('recovery codes', () => {
  it('come as 10 a set, XXXX-XXXX-XXXX-XXXX from 32 symbols without 0/O or 1/I: 80 bits, over the 50 the contract asks', () => {
    expect(RECOVERY_CODE_COUNT).toBe(10);
    expect(ALPHABET).toHaveLength(32);
    for (const c of '0O1I') expect(ALPHABET).not.toContain(c);
    for (let i = 0; i < 200; i++) expect(newRecoveryCode()).toMatch(FORMAT);
    expect(16 * Math.log2(ALPHABET.length)).toBeGreaterThanOrEqual(50);
  });

  it('are drawn uniformly: every symbol at every position, no repeats among many', () => {
    const codes = Array.from({ length: 4000 }, () => newRecoveryCode().replace(/-/g, ''));
    expect(new Set(codes).size).toBe(codes.length);
    const counts = new Map<string, number>();
    for (const code of codes) for (const c of code) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect([...counts.keys()].sort().join('')).toBe([...ALPHABET].sort().join(''));
    // 64,000 symbols, 2,000 expected each: a biased draw (a symbol twice as likely) falls far outside.
    for (const [symbol, n] of counts) {
      expect(n, symbol).toBeGreaterThan(1700);
      expect(n, symbol).toBeLessThan(2300);
    }
    for (let position = 0; position < 16; position++) expect(new Set(codes.map((c) => c[position])).size).toBe(32);
  });

  it('hash as SHA-256 of the 16 symbols: case, spaces and dashes do not count', () => {
    const code = newRecoveryCode();
    const bare = code.replace(/-/g, '');
    const hash = hashRecoveryCode(code)!;
    expect(hash).toStrictEqual(createHash('sha256').update(bare).digest());
    for (const spelling of [bare, code.toLowerCase(), ` ${code} `, bare.match(/.{4}/g)!.join(' '), bare.split('').join('-'), `\t${bare.toLowerCase()}\n`]) {
      expect(hashRecoveryCode(spelling), spelling).toStrictEqual(hash);
    }
    expect(hashRecoveryCode(newRecoveryCode())).not.toStrictEqual(hash);
  });

  it('hash nothing that is not a code: wrong length, a symbol outside the alphabet, other punctuation', () => {
    const bare = newRecoveryCode().replace(/-/g, '');
    for (const bad of ['', bare.slice(1), `${bare}A`, `0${bare.slice(1)}`, `O${bare.slice(1)}`, `1${bare.slice(1)}`, `I${bare.slice(1)}`, `${bare.slice(0, 8)}_${bare.slice(8)}`, 'é'.repeat(16)]) {
      expect(hashRecoveryCode(bad), bad).toBeNull();
    }
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => void hashRecoveryCode(s)));
  });
});
