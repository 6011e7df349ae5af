import fc from 'fast-check';
import addressparser from 'nodemailer/lib/addressparser';
import { describe, expect, it } from 'vitest';
import { isAcceptedEmail, normalizeEmail } from './email.js';

const accepted = (email: string) => isAcceptedEmail(normalizeEmail(email));

/** The grammar, generated: dot-atoms of letters (ASCII or not), digits and `_ + - '`, at LDH hostnames. */
const atom = fc.stringMatching(/^[a-z0-9_+'\-àáâäçèéêëíñóöúüß\u0430-\u044f]{1,10}$/).filter((a) => a === a.normalize('NFKC'));
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const top = fc.oneof(fc.stringMatching(/^[a-z]{2,6}$/), fc.stringMatching(/^xn--[a-z0-9]{2,8}$/));
const grammarEmail = fc
  .tuple(fc.array(atom, { minLength: 1, maxLength: 3 }), fc.array(label, { minLength: 1, maxLength: 3 }), top)
  .map(([atoms, labels, tld]) => `${atoms.join('.')}@${[...labels, tld].join('.')}`)
  .filter((email) => Buffer.byteLength(email.split('@')[0]!) <= 64);

describe('isAcceptedEmail', () => {
  it.each([
    'user-1@example.com',
    'user-123456@example.com',
    'ana@example.com',
    'a@b.co',
    'first.last@sub.example.co.uk',
    "o'brien+news@example.com",
    'under_score@example-domain.org',
    'jos\u00e9@example.com',
    'i\u0307stanbul@example.com',
    'ana@xn--exmple-cua.com',
    'ana@example.xn--p1ai',
    '1234@123.example.com',
  ])('accepts %j', (email) => expect(accepted(email)).toBe(true));

  it.each([
    ['a quoted local part', '"victim"@example.com'],
    ['a quoted string with an @', '"victim@example.com"@evil.com'],
    ['a comment', 'victim(comment)@example.com'],
    ['a comment in the domain', 'victim@(x)example.com'],
    ['an IPv4 literal', 'victim@[127.0.0.1]'],
    ['an IPv6 literal', 'victim@[IPv6:::1]'],
    ['a dotted IP as a domain', 'victim@127.0.0.1'],
    ['a source route', '@relay.example,@b.example:victim@example.com'],
    ['the percent hack', 'victim%example.com@relay.example'],
    ['a bang path', 'example.com!victim@relay.example'],
    ['a backslash', 'vic\\tim@example.com'],
    ['two @', 'victim@example.com@evil.com'],
    ['a list', 'a@evil.com,victim@example.com'],
    ['angle brackets', '<victim@example.com>'],
    ['a display name', 'Victim <victim@example.com>'],
    ['a space', 'vic tim@example.com'],
    ['a NUL', 'victim\u0000@example.com'],
    ['a newline', 'victim@example.com\nBcc: x@evil.com'],
    ['a leading dot', '.victim@example.com'],
    ['a trailing dot', 'victim.@example.com'],
    ['two dots', 'vic..tim@example.com'],
    ['a slash', 'victim/x@example.com'],
    ['an equals sign', 'SRS0=x=y@example.com'],
    ['a domain without a dot', 'victim@localhost'],
    ['a domain with a trailing dot', 'victim@example.com.'],
    ['an empty label', 'victim@example..com'],
    ['a label ending in a hyphen', 'victim@example-.com'],
    ['a label starting with a hyphen', 'victim@-example.com'],
    ['an underscore in the domain', 'victim@ex_ample.com'],
    ['a numeric top-level label', 'victim@example.123'],
    ['a one-letter top-level label', 'victim@example.c'],
    ['a Unicode domain (punycode only)', 'ana@ex\u00e1mple.com'],
    ['a full-width letter (NFKC folds it)', '\uff56ictim@example.com'],
    ['a ligature', '\ufb01le@example.com'],
    ['a zero-width space', 'vic\u200btim@example.com'],
    ['a right-to-left override', 'vic\u202etim@example.com'],
    ['a local part of 65 octets', `${'a'.repeat(65)}@example.com`],
    ['a label of 64', `a@${'b'.repeat(64)}.com`],
    ['no local part', '@example.com'],
    ['nothing', ''],
  ])('refuses %s: %j', (_, email) => expect(accepted(email)).toBe(false));

  it('accepts every address the grammar generates', () => {
    fc.assert(fc.property(grammarEmail, (email) => void expect(accepted(email)).toBe(true)));
  });

  it('accepts only what the mailer reads as that very address (nodemailer sends to what is stored, no other)', () => {
    const anyEmail = fc.oneof(
      grammarEmail,
      fc.emailAddress(),
      fc.tuple(grammarEmail, fc.integer({ min: 0, max: 40 }), fc.constantFrom(...'"()<>[]\\,;: %!/=@\u0000\n\t')).map(
        ([email, at, char]) => email.slice(0, at) + char + email.slice(at),
      ),
      fc.tuple(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ maxLength: 12 })).map(([a, b]) => `${a}@${b}`),
    );
    fc.assert(
      fc.property(anyEmail, (raw) => {
        const email = normalizeEmail(raw);
        if (!isAcceptedEmail(email)) return;
        expect(addressparser(email)).toStrictEqual([{ address: email, name: '' }]);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses every address with a special of RFC 5322 inserted in it', () => {
    const withSpecial = fc
      .tuple(grammarEmail, fc.nat(), fc.constantFrom(...'"()<>[]\\,;: %!/=@'))
      .map(([email, at, char]) => {
        const i = at % (email.length + 1);
        return email.slice(0, i) + char + email.slice(i);
      })
      // A dot or @ inserted next to another can still make a valid address elsewhere: only specials here.
      .filter((email) => (email.match(/@/g) ?? []).length > 1 || /["()<>[\]\\,;: %!/=]/.test(email));
    fc.assert(fc.property(withSpecial, (email) => void expect(accepted(email)).toBe(false)));
  });

  it('is unchanged by normalization: what is accepted is stored as checked', () => {
    fc.assert(fc.property(grammarEmail, (email) => void expect(normalizeEmail(email)).toBe(email)));
  });
});
