import { createSecretKey, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeRefreshToken,
  encodeRefreshToken,
  firstRefreshSecret,
  hashRefreshSecret,
  MAX_GENERATION,
  successorOf,
} from './refresh-token.js';

const key = createSecretKey(Buffer.alloc(32, 1));
const otherKey = createSecretKey(Buffer.alloc(32, 2));
const tokenArb = fc.record({
  sessionId: fc.uuid(),
  generation: fc.integer({ min: 0, max: MAX_GENERATION }),
  secret: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)),
});

describe('refresh tokens', () => {
  it('decode(encode(t)) is t, in 70 base64url characters', () => {
    fc.assert(
      fc.property(tokenArb, (token) => {
        const text = encodeRefreshToken(token);
        expect(text).toMatch(/^[A-Za-z0-9_-]{70}$/);
        expect(decodeRefreshToken(text)).toStrictEqual({ ...token, sessionId: token.sessionId.toLowerCase() });
      }),
    );
  });

  it('anything that is not exactly a token is null, never an exception', () => {
    const token = encodeRefreshToken({ sessionId: randomUUID(), generation: 3, secret: firstRefreshSecret() });
    for (const bad of [undefined, null, 1, {}, [], '', token.slice(1), `${token}A`, `${token.slice(0, -1)}=`, `${token.slice(0, -1)}+`]) {
      expect(decodeRefreshToken(bad)).toBeNull();
    }
    // Same bytes, another spelling: the last character's spare bits set.
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(token.at(-1)!);
    expect(decodeRefreshToken(`${token.slice(0, -1)}${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last ^ 1]}`)).toBeNull();
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => void decodeRefreshToken(s)));
    // A generation the database column cannot hold was never issued.
    const bytes = Buffer.from(token, 'base64url');
    bytes.writeUInt32BE(MAX_GENERATION + 1, 16);
    expect(decodeRefreshToken(bytes.toString('base64url'))).toBeNull();
  });

  it('a successor is the same for the same token and key, and belongs to the next generation of the session', () => {
    fc.assert(
      fc.property(tokenArb.filter((t) => t.generation < MAX_GENERATION), (token) => {
        const next = successorOf(token, key);
        expect(next).toStrictEqual(successorOf(token, key));
        expect(next.sessionId).toBe(token.sessionId);
        expect(next.generation).toBe(token.generation + 1);
        expect(next.secret.equals(token.secret)).toBe(false);
        expect(next.secret.equals(successorOf(token, otherKey).secret)).toBe(false);
        expect(next.secret.equals(successorOf({ ...token, sessionId: randomUUID() }, key).secret)).toBe(false);
      }),
    );
  });

  it('stores a hash that is not the secret', () => {
    const secret = firstRefreshSecret();
    expect(secret).toHaveLength(32);
    expect(hashRefreshSecret(secret).equals(secret)).toBe(false);
    expect(hashRefreshSecret(secret)).toHaveLength(32);
  });
});
