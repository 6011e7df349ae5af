import type { PageKey } from './sessions.repository.js';

/** A timestamptz as PostgreSQL writes it as text (what pageKey holds): `2026-12-04 03:40:12.123456+00`. */
const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

/**
 * The opaque `cursor` of a session list's next page: which list, and the last row's key. Any
 * other string, a cursor of the other list included, is not one.
 */
export function encodeCursor(state: 'live' | 'ended', key: PageKey): string {
  return Buffer.from(JSON.stringify([state, key.at, key.id])).toString('base64url');
}

export function decodeCursor(state: 'live' | 'ended', cursor: string): PageKey | undefined {
  try {
    const [list, at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const valid =
      list === state &&
      typeof at === 'string' &&
      PG_TIMESTAMP.test(at) &&
      typeof id === 'string' &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
    return valid ? { at, id } : undefined;
  } catch {
    return undefined;
  }
}
