/** Every audit event name, the one list: the `audit_events.event` column holds one of these. */
export const AUDIT_EVENTS = [
  'register',
  'login',
  'login_failed',
  'logout',
  'session_revoked',
  'password_changed',
  'refresh_reuse',
  'password_reset_requested',
  'password_reset',
  'email_verified',
  'account_deleted',
  'admin_action',
] as const;

export type AuditEventName = (typeof AUDIT_EVENTS)[number];

/** Flat facts about the event: scope, sessions ended, the email a login was tried for. */
export type AuditDetails = Record<string, string | number | boolean | null>;
