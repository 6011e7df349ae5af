import { createHash, timingSafeEqual } from 'node:crypto';
import type { IntrospectionClient } from './auth.config.js';

// `Basic <base64>`, scheme case-insensitive (RFC 7617).
const BASIC = /^basic +([A-Za-z0-9+/]+=*)$/i;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

// Every client compared, each in constant time: neither which one matched nor how much of it leaks.
export function introspectionClientOf(header: unknown, clients: readonly IntrospectionClient[]): string | undefined {
  const credentials = basicCredentialsOf(header);
  if (credentials === undefined) return undefined;
  const presented = digest(credentials);
  let found: string | undefined;
  for (const client of clients) if (timingSafeEqual(presented, digest(`${client.id}:${client.secret}`))) found = client.id;
  return found;
}

/** For the log: never the secret. */
export function triedClientIdOf(header: unknown): string | undefined {
  const credentials = basicCredentialsOf(header);
  const colon = credentials?.indexOf(':') ?? -1;
  return colon < 0 ? undefined : credentials!.slice(0, Math.min(colon, 64));
}

function basicCredentialsOf(header: unknown): string | undefined {
  if (typeof header !== 'string' || header.length > 1024) return undefined;
  const encoded = BASIC.exec(header)?.[1];
  return encoded ? Buffer.from(encoded, 'base64').toString('utf8') : undefined;
}
