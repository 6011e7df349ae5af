import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { EncryptionKeys } from './factors.config.js';

// Layout: key id (4 bytes) | IV (12) | tag (16) | ciphertext. The key id picks the key, so rotation needs no migration.
const KEY_ID = 4;
const IV = 12;
const TAG = 16;

const idOf = (key: Buffer): Buffer => createHash('sha256').update(key).digest().subarray(0, KEY_ID);

/** AES-256-GCM under the current key; `context` (the factor's user id) is bound as associated data, so a box cannot be moved to another user. */
export function seal(plaintext: Buffer, keys: EncryptionKeys, context: string): Buffer {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', keys.current, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([idOf(keys.current), iv, cipher.getAuthTag(), body]);
}

/** Null when no configured key sealed it, or it was tampered with. `stale`: sealed under a previous key. */
export function unseal(box: Buffer, keys: EncryptionKeys, context: string): { plaintext: Buffer; stale: boolean } | null {
  if (box.length < KEY_ID + IV + TAG) return null;
  const id = box.subarray(0, KEY_ID);
  const key = [keys.current, ...keys.previous].find((k) => idOf(k).equals(id));
  if (!key) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(KEY_ID, KEY_ID + IV));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(box.subarray(KEY_ID + IV, KEY_ID + IV + TAG));
    const plaintext = Buffer.concat([decipher.update(box.subarray(KEY_ID + IV + TAG)), decipher.final()]);
    return { plaintext, stale: key !== keys.current };
  } catch {
    return null;
  }
}
