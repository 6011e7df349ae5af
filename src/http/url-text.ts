import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../errors/all-exceptions.filter.js';
import { ErrorCode } from '../errors/error-code.js';
import { SECURITY_HEADERS } from './response-headers.js';

// No parameter holds a control character; PostgreSQL refuses a NUL in text (it made a 500).
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
// Anything else arrived as raw bytes, which Node reads as Latin-1.
const QUERY_CHARS = /^[\x21-\x7e]*$/;

// decodeURIComponent refuses `%C3%28` and `%ED%A0%80`, which Fastify's parser keeps or makes U+FFFD.
export function isTextQuery(query: string): boolean {
  if (!QUERY_CHARS.test(query)) return false;
  for (const pair of query.split('&')) {
    let text: string;
    try {
      text = decodeURIComponent(pair.replaceAll('+', ' '));
    } catch {
      return false;
    }
    if (hasControl(text)) return false;
  }
  return true;
}

export function isTextParams(params: unknown): boolean {
  if (params === null || typeof params !== 'object') return true;
  return Object.values(params).every((value) => typeof value !== 'string' || !hasControl(value));
}

function refuse(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, errors?: string[]): void {
  reply.headers(SECURITY_HEADERS);
  sendError(reply, request.id, { code, errors });
}

// Once, before any guard or handler, so no route, an application's own included, passes such text to the database.
export function refuseUnreadableUrls(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.is404) return done();
    const url = request.url;
    const mark = url.indexOf('?');
    if (mark !== -1 && !isTextQuery(url.slice(mark + 1))) {
      return refuse(request, reply, ErrorCode.InvalidRequest, ['La consulta contiene texto que no es válido']);
    }
    if (!isTextParams(request.params)) return refuse(request, reply, ErrorCode.NotFound);
    done();
  });
}
