import { generateSecret, generateURI, verifySync } from 'otplib';

// RFC 6238 as the contract fixes it: SHA-1, 6 digits, 30 s, one step of drift either way.
export const PERIOD = 30;
const DIGITS = 6;

export const newTotpSecret = (): string => generateSecret();

export const totpUri = (secret: string, issuer: string, label: string): string =>
  generateURI({ strategy: 'totp', issuer, label, secret, algorithm: 'sha1', digits: DIGITS, period: PERIOD });

/** The time step `code` belongs to, within one step of now; null when it matches none. */
export function stepOf(secret: string, code: string, nowMs = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const epoch = Math.floor(nowMs / 1000);
  const result = verifySync({ strategy: 'totp', secret, token: code, epoch, epochTolerance: PERIOD, period: PERIOD, digits: DIGITS, algorithm: 'sha1' });
  return result.valid ? Math.floor(epoch / PERIOD) + result.delta : null;
}
