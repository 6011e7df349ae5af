import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EncryptionKeys } from './factors.config.js';
import { seal, unseal } from './secret-box.js';

const [oldKey, currentKey, otherKey] = [randomBytes(32), randomBytes(32), randomBytes(32)];
const keys: EncryptionKeys = { current: currentKey, previous: [] };
const secret = Buffer.from('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
const user = randomUUID();

describe('secret box (AES-256-GCM, key id prefix, user bound)', () => {
  it('opens what it sealed, for the same user, under the current key (not stale)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uuid(), (bytes, context) => {
        const plaintext = Buffer.from(bytes);
        expect(unseal(seal(plaintext, keys, context), keys, context)).toStrictEqual({ plaintext, stale: false });
      }),
    );
  });

  it('never holds the secret in clear, and two seals of one secret differ (a fresh IV each)', () => {
    const [a, b] = [seal(secret, keys, user), seal(secret, keys, user)];
    expect(a.includes(secret)).toBe(false);
    expect(a.toString('latin1')).not.toContain(secret.toString());
    expect(a.equals(b)).toBe(false);
    expect(a.length).toBe(4 + 12 + 16 + secret.length);
  });

  it('refuses a box with any byte changed (key id, IV, tag, ciphertext), a truncated one and an extended one', () => {
    const box = seal(secret, keys, user);
    for (let i = 0; i < box.length; i++) {
      const tampered = Buffer.from(box);
      tampered[i]! ^= 0x01;
      expect(unseal(tampered, keys, user), `byte ${i}`).toBeNull();
    }
    for (const cut of [0, 1, 31, 32, box.length - 1]) expect(unseal(box.subarray(0, cut), keys, user)).toBeNull();
    expect(unseal(Buffer.concat([box, Buffer.from([0])]), keys, user)).toBeNull();
  });

  it('refuses a box sealed under a key that is not configured', () => {
    const box = seal(secret, { current: otherKey, previous: [] }, user);
    expect(unseal(box, keys, user)).toBeNull();
    expect(unseal(box, { current: currentKey, previous: [oldKey] }, user)).toBeNull();
  });

  it('opens a box sealed under a previous key, and says it is stale (to be sealed again under the current one)', () => {
    const box = seal(secret, { current: oldKey, previous: [] }, user);
    const rotated: EncryptionKeys = { current: currentKey, previous: [otherKey, oldKey] };
    expect(unseal(box, rotated, user)).toStrictEqual({ plaintext: secret, stale: true });
    const resealed = seal(secret, rotated, user);
    expect(unseal(resealed, rotated, user)).toStrictEqual({ plaintext: secret, stale: false });
    // Once the old key is dropped from the configuration, only the resealed box opens.
    expect(unseal(box, keys, user)).toBeNull();
    expect(unseal(resealed, keys, user)).toStrictEqual({ plaintext: secret, stale: false });
  });

  it("refuses another user's box: the user id is bound as associated data", () => {
    const box = seal(secret, keys, user);
    expect(unseal(box, keys, randomUUID())).toBeNull();
    expect(unseal(box, keys, user.toUpperCase())).toBeNull();
    expect(unseal(box, keys, '')).toBeNull();
  });
});
