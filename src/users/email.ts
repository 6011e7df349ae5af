/** The `users.email` column's length, in characters. */
export const MAX_EMAIL_LENGTH = 254;
/** RFC 5321's limits: a local part of 64 octets, a domain of 253 characters, a label of 63. */
const MAX_LOCAL_OCTETS = 64;
const MAX_DOMAIN_LENGTH = 253;

/**
 * The one spelling of an email that is stored and looked up: Unicode NFC (so `josé` typed
 * composed or decomposed is one account), then lowercase (so comparison is case-insensitive).
 * The request DTOs apply it before validation (so the length checked is the length stored); the
 * repository applies it again, for any caller that did not come through a DTO (it is idempotent).
 */
export const normalizeEmail = (email: string): string => email.normalize('NFC').toLowerCase();

/**
 * A local part's atom: letters and digits (any script), combining marks, and `_ + - '`.
 * Everything RFC 5322 allows beyond that is left out on purpose, because mail systems read it
 * differently: quoted strings (`"victim"@…` is delivered to `victim@…`), comments (`(…)`),
 * backslashes, `%` (the percent hack routes `a%b@relay` to `a@b`), `!` (bang paths), `/`, `=`
 * and the rest of the specials.
 */
const ATOM = /^[\p{L}\p{M}\p{N}_+'-]+$/u;
/** A hostname label: letters, digits and hyphens (LDH), not starting or ending with a hyphen, 63 at most. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
/** The top-level label: letters, or an IDN in punycode (`xn--…`). Never all digits, so never an IP address. */
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/i;

/**
 * Whether an email (normalized already) is one this API accepts, in the one grammar every DTO
 * checks (register, login, forgot): so that no two addresses this API stores as different strings
 * reach one mailbox by a reading of RFC 5322 that a mail system makes and we do not.
 *
 * - `local@domain`, exactly one `@`.
 * - The local part: a dot-atom (atoms joined by single dots, none at either end) of the ATOM
 *   characters above, at most 64 octets in UTF-8, and unchanged by NFKC (so no full-width
 *   letters, ligatures, superscripts or invisible characters: nothing a mail system that folds
 *   compatibility characters would deliver elsewhere).
 * - The domain: a hostname of LDH labels, at least two, at most 253 characters; IDNs only in
 *   their ASCII (punycode) form, since `exámple.com` and `xn--exmple-cua.com` are one domain to
 *   DNS but two strings here. No IP literals (`[127.0.0.1]`), no source routes (`@a,@b:x@c`).
 */
export function isAcceptedEmail(email: string): boolean {
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@')) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (Buffer.byteLength(local) > MAX_LOCAL_OCTETS || local !== local.normalize('NFKC')) return false;
  if (!local.split('.').every((atom) => ATOM.test(atom))) return false;
  if (domain.length > MAX_DOMAIN_LENGTH) return false;
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((label) => LABEL.test(label)) && TOP_LABEL.test(labels.at(-1)!);
}
