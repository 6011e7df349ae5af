/** The last row of a page: its list's time (as PostgreSQL writes it) and its id. */
export interface PageKey {
  at: string;
  id: string;
}

/** A timestamptz as PostgreSQL writes it as text (what pageKey holds): `2026-12-04 03:40:12.123456+00`. */
const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

/** Names its list, so that a cursor of another list is refused. */
export function encodeCursor(list: string, key: PageKey): string {
  return Buffer.from(JSON.stringify([list, key.at, key.id])).toString('base64url');
}

export function decodeCursor(list: string, cursor: string): PageKey | undefined {
  try {
    const [named, at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const valid =
      named === list &&
      typeof at === 'string' &&
      PG_TIMESTAMP.test(at) &&
      typeof id === 'string' &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
    return valid ? { at, id } : undefined;
  } catch {
    return undefined;
  }
}
