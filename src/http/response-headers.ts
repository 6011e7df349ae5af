import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import { DOCS_PATH } from './swagger.js';

const HELMET = {
  // Swagger UI's scripts and styles are served from here; its inline styles need 'unsafe-inline'.
  contentSecurityPolicy: {
    directives: {
      defaultSrc: [`'self'`],
      styleSrc: [`'self'`, `'unsafe-inline'`],
      imgSrc: [`'self'`, 'data:'],
      scriptSrc: [`'self'`],
    },
  },
};

// Computed once: they depend on the options only, and @fastify/helmet rebuilt them per request (docs/performance.md).
export const SECURITY_HEADERS: Readonly<Record<string, string>> = (() => {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: () => undefined,
  };
  helmet(HELMET)({} as IncomingMessage, response as never, () => undefined);
  return Object.freeze(headers);
})();

// A callback hook, not an async one: no promise per request.
export function addResponseHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    reply.header('x-request-id', request.id);
    if (!request.url.startsWith(`/${DOCS_PATH}`)) reply.header('cache-control', 'no-store');
    done();
  });
}
