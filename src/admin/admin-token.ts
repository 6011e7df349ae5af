import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/** How an audit row names the admin token: never the token itself. */
export function fingerprintOf(token: string): string {
  return digest(token).toString('hex').slice(0, 16);
}

// Digests compared in constant time: neither a token's length nor its prefix leaks.
export function matchingToken(presented: string, tokens: readonly string[]): string | undefined {
  const given = digest(presented);
  let found: string | undefined;
  for (const token of tokens) if (timingSafeEqual(given, digest(token))) found = token;
  return found;
}
