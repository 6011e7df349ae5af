import type { AuditDetails, AuditEventName } from '../audit/audit-event.js';

/**
 * Why someone ended a session (`sessions.ended_reason`), and the audit row that records it.
 * Sessions that simply ran out have no reason stored: the list shows them as `idle_timeout` or
 * `expired`.
 */
export const END_REASONS = {
  // One session.
  logout: { event: 'logout', details: { scope: 'current' } },
  revoked_by_id: { event: 'session_revoked', details: { reason: 'revoked_by_id' } },
  refresh_reuse: { event: 'refresh_reuse', details: { reason: 'refresh_reuse' } },
  // Every live session of a user, or every other one.
  logout_others: { event: 'logout', details: { scope: 'others' } },
  logout_all: { event: 'logout', details: { scope: 'all' } },
  password_changed: { event: 'password_changed', details: { reason: 'password_changed' } },
  password_reset: { event: 'password_reset', details: { reason: 'password_reset' } },
  account_deleted: { event: 'account_deleted', details: { reason: 'account_deleted' } },
  // By an operator (the admin API): one session, or all of a user's; a lock ends them all.
  admin_revoked: { event: 'session_revoked', details: { reason: 'admin_revoked' } },
  account_locked: { event: 'session_revoked', details: { reason: 'account_locked' } },
} as const satisfies Record<string, { event: AuditEventName; details: AuditDetails }>;

type EndReason = keyof typeof END_REASONS;
/** The reasons that end one session; the others end all of a user's (but maybe one). */
export type SingleEndReason = 'logout' | 'revoked_by_id' | 'refresh_reuse' | 'admin_revoked';
export type ManyEndReason = Exclude<EndReason, SingleEndReason> | 'admin_revoked';
