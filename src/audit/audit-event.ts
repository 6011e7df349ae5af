/** The one list of event names. */
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
  'mfa_enabled',
  'mfa_removed',
  'mfa_reset',
  'mfa_failed',
  'recovery_code_used',
  'recovery_codes_replaced',
  'step_up',
] as const;

export type AuditEventName = (typeof AUDIT_EVENTS)[number];

export type AuditDetails = Record<string, string | number | boolean | null>;
