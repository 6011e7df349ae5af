/** The `users.email` column's length, in characters. */
export const MAX_EMAIL_LENGTH = 254;

/**
 * The one spelling of an email that is stored and looked up: Unicode NFC (so `josé` typed
 * composed or decomposed is one account), then lowercase (so comparison is case-insensitive).
 * The request DTOs apply it before validation (so the length checked is the length stored); the
 * repository applies it again, for any caller that did not come through a DTO (it is idempotent).
 */
export const normalizeEmail = (email: string): string => email.normalize('NFC').toLowerCase();
