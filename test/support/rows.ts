// Rows read straight from the database of a test app, to check what a request changed.

import type { AuditEventName } from '../../src/audit/audit-event.js';

/** Anything with a TypeORM-like `dataSource.query`: a TestApp, or a direct connection wrapped so. */
export interface Db {
  dataSource: { query: (sql: string, parameters?: unknown[]) => Promise<any> };
}

/** The session row `id`, all columns (undefined when there is none). */
export async function sessionRow(t: Db, id: string) {
  return (await t.dataSource.query('SELECT * FROM sessions WHERE id = $1', [id]))[0];
}

/** When session `id` was revoked: null while it is live. */
export async function revokedAt(t: Db, id: string): Promise<Date | null> {
  return (await sessionRow(t, id)).revoked_at;
}

/** Every session row of a user, oldest first. */
export function sessionRows(t: Db, userId: string): Promise<any[]> {
  return t.dataSource.query('SELECT * FROM sessions WHERE user_id = $1 ORDER BY created_at', [userId]);
}

/** The user row with this id or this (stored) email, all columns. */
export async function userRow(t: Db, by: { id: string } | { email: string }) {
  const [column, value] = 'id' in by ? ['id', by.id] : ['email', by.email];
  return (await t.dataSource.query(`SELECT * FROM users WHERE ${column} = $1`, [value]))[0];
}

/** The mails enqueued in the outbox to this address with this subject (sent or not). */
export async function outboxMails(t: Db, to: string, subject: string): Promise<number> {
  const [row] = await t.dataSource.query(
    `SELECT count(*) AS n FROM outbox WHERE kind = 'mail' AND payload->>'to' = $1 AND payload->>'subject' = $2`,
    [to, subject],
  );
  return Number(row.n);
}

/** How many rows `table` holds. */
export async function rowCount(t: Db, table: 'users' | 'sessions' | 'audit_events'): Promise<number> {
  return Number((await t.dataSource.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
}

export interface AuditFilter {
  event?: AuditEventName;
  sessionId?: string;
  userId?: string;
  requestId?: string;
}

/** The audit rows matching every field given, all columns, oldest first. */
export function auditRows(t: Db, filter: AuditFilter): Promise<any[]> {
  const columns = { event: 'event', sessionId: 'session_id', userId: 'user_id', requestId: 'request_id' } as const;
  const given = (Object.keys(columns) as Array<keyof AuditFilter>).filter((key) => filter[key] !== undefined);
  if (!given.length) throw new Error('auditRows: give at least one of event, sessionId, userId, requestId');
  const where = given.map((key, i) => `${columns[key]} = $${i + 1}`).join(' AND ');
  return t.dataSource.query(
    `SELECT * FROM audit_events WHERE ${where} ORDER BY created_at`,
    given.map((key) => filter[key]),
  );
}

/** The logout audit rows of a session: exactly one once it is logged out. */
export const logoutAudits = (t: Db, sessionId: string) => auditRows(t, { event: 'logout', sessionId });

/** Moves a clock of session `id` to now() plus `offset`: seconds (-3600) or a PostgreSQL interval ('-8 days'). */
export async function setSessionClock(
  t: Db,
  id: string,
  column: 'refreshed_at' | 'expires_at' | 'last_used_at' | 'revoked_at',
  offset: number | string,
): Promise<void> {
  const interval = typeof offset === 'number' ? `${offset} seconds` : offset;
  await t.dataSource.query(`UPDATE sessions SET ${column} = now() + $2::interval WHERE id = $1`, [id, interval]);
}
