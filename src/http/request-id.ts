import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:+/=-]{1,128}$/;

// Set on the raw request too: pino-http and the raw-socket answers read it there.
export function requestIdOf(req: IncomingMessage): string {
  const sent = req.headers['x-request-id'];
  const id = typeof sent === 'string' && SANE_REQUEST_ID.test(sent) ? sent : randomUUID();
  (req as IncomingMessage & { id?: string }).id = id;
  return id;
}
