import type { AuditDetails, AuditEventName } from '../audit/audit-event.js';

// Sessions that simply ran out store no reason: the list shows them as `idle_timeout` or `expired`.
export const END_REASONS = {
  logout: { event: 'logout', details: { scope: 'current' } },
  revoked_by_id: { event: 'session_revoked', details: { reason: 'revoked_by_id' } },
  refresh_reuse: { event: 'refresh_reuse', details: { reason: 'refresh_reuse' } },
  logout_others: { event: 'logout', details: { scope: 'others' } },
  logout_all: { event: 'logout', details: { scope: 'all' } },
  password_changed: { event: 'password_changed', details: { reason: 'password_changed' } },
  password_reset: { event: 'password_reset', details: { reason: 'password_reset' } },
  account_deleted: { event: 'account_deleted', details: { reason: 'account_deleted' } },
  admin_revoked: { event: 'session_revoked', details: { reason: 'admin_revoked' } },
  account_locked: { event: 'session_revoked', details: { reason: 'account_locked' } },
  mfa_enabled: { event: 'mfa_enabled', details: { reason: 'mfa_enabled' } },
  mfa_removed: { event: 'mfa_removed', details: { reason: 'mfa_removed' } },
  mfa_reset: { event: 'mfa_reset', details: { reason: 'mfa_reset' } },
  recovery_code_used: { event: 'recovery_code_used', details: { reason: 'recovery_code_used' } },
} as const satisfies Record<string, { event: AuditEventName; details: AuditDetails }>;

type EndReason = keyof typeof END_REASONS;
export type SingleEndReason = 'logout' | 'revoked_by_id' | 'refresh_reuse' | 'admin_revoked';
export type ManyEndReason = Exclude<EndReason, SingleEndReason> | 'admin_revoked';
