import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newTotpSecret, PERIOD, stepOf, totpUri } from './totp.js';

// RFC 6238 appendix B's SHA-1 seed ("12345678901234567890"), in base32.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

const base32Decode = (text: string): Buffer => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  return Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
};

/** RFC 4226/6238 written out here, so the module is checked against something other than its own library. */
const codeAt = (secret: string, step: number): string => {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
};

describe('TOTP (RFC 6238: SHA-1, 6 digits, 30 s)', () => {
  it("matches RFC 6238's test vectors (their last 6 digits)", () => {
    for (const [seconds, code] of [
      [59, '287082'],
      [1111111109, '081804'],
      [1111111111, '050471'],
      [1234567890, '005924'],
      [2000000000, '279037'],
    ] as const) {
      expect(codeAt(RFC_SECRET, Math.floor(seconds / 30))).toBe(code);
      expect(stepOf(RFC_SECRET, code, seconds * 1000)).toBe(Math.floor(seconds / 30));
    }
  });

  it('accepts the step before and after now (drift ±1) and answers which step it was', () => {
    const secret = newTotpSecret();
    const now = 1_800_000_015_000;
    const step = Math.floor(now / 1000 / PERIOD);
    for (const drift of [-1, 0, 1]) expect(stepOf(secret, codeAt(secret, step + drift), now), `drift ${drift}`).toBe(step + drift);
  });

  it('refuses codes two or more steps away (drift ±2)', () => {
    const secret = newTotpSecret();
    const now = 1_800_000_015_000;
    const step = Math.floor(now / 1000 / PERIOD);
    for (const drift of [-3, -2, 2, 3]) {
      const code = codeAt(secret, step + drift);
      // Unless the code happens to be that of a nearby step too (1 in 10^6 odds a step).
      if ([-1, 0, 1].some((d) => codeAt(secret, step + d) === code)) continue;
      expect(stepOf(secret, code, now), `drift ${drift}`).toBeNull();
    }
  });

  it("refuses another secret's code, and anything that is not 6 digits", () => {
    const [secret, other] = [newTotpSecret(), newTotpSecret()];
    const now = Date.now();
    const step = Math.floor(now / 1000 / PERIOD);
    const code = codeAt(secret, step);
    if (![-1, 0, 1].some((d) => codeAt(other, step + d) === code)) expect(stepOf(other, code, now)).toBeNull();
    for (const bad of ['', '12345', '1234567', ` ${code}`, `${code} `, code.replace(/^./, 'a'), '１２３４５６', `${code}\n`]) {
      expect(stepOf(secret, bad, now), JSON.stringify(bad)).toBeNull();
    }
  });

  it('makes 160-bit base32 secrets, each new', () => {
    const secrets = Array.from({ length: 50 }, newTotpSecret);
    for (const s of secrets) {
      expect(s).toMatch(/^[A-Z2-7]+$/);
      expect(base32Decode(s).length).toBeGreaterThanOrEqual(20);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it('builds an otpauth://totp/ URI with the issuer, the label, the secret and the parameters', () => {
    const secret = newTotpSecret();
    const uri = new URL(totpUri(secret, 'Mi Empresa', 'ana@example.com'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Mi Empresa:ana@example.com');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Mi Empresa');
    for (const [name, value] of [['algorithm', 'SHA1'], ['digits', '6'], ['period', '30']]) {
      const given = uri.searchParams.get(name!);
      if (given !== null) expect(given).toBe(value);
    }
  });
});
