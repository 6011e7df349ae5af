export const MAX_EMAIL_LENGTH = 254;
// RFC 5321's limits.
const MAX_LOCAL_OCTETS = 64;
const MAX_DOMAIN_LENGTH = 253;

// NFC so that `josé` composed or decomposed is one account; idempotent, so DTOs and the repository both apply it.
export const normalizeEmail = (email: string): string => email.normalize('NFC').toLowerCase();

// No quotes, comments, `%`, `!` or other specials: mail systems deliver `"victim"@x` or `a%b@relay` elsewhere.
const ATOM = /^[\p{L}\p{M}\p{N}_+'-]+$/u;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
// Never all digits, so never an IP address.
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/i;

// No two stored spellings reach one mailbox: NFKC-stable dot-atoms, punycode hostnames, no IP literals.
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
