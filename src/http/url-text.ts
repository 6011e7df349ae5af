import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from '../errors/all-exceptions.filter.js';
import { ErrorCode } from '../errors/error-code.js';
import { SECURITY_HEADERS } from './response-headers.js';

/**
 * Whether `text` holds a C0 control (NUL among them: PostgreSQL refuses it in text, which made a
 * 500), DEL or a C1 control. No parameter of the API, nor any text a handler stores or searches,
 * holds one.
 */
export function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
/** Printable ASCII: anything else in a query arrived as raw bytes, which Node reads as Latin-1. */
const QUERY_CHARS = /^[\x21-\x7e]*$/;

/**
 * Whether a raw query string (after `?`) decodes to text every parameter may hold: each
 * `%XX` sequence well-formed UTF-8 (not `%C3%28`, not an encoded surrogate such as `%ED%A0%80`:
 * decodeURIComponent refuses both, where Fastify's parser keeps them or makes U+FFFD), and no
 * control character once decoded.
 */
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

/** Whether every decoded path parameter is free of control characters (the router refused undecodable ones already). */
export function isTextParams(params: unknown): boolean {
  if (params === null || typeof params !== 'object') return true;
  return Object.values(params).every((value) => typeof value !== 'string' || !hasControl(value));
}

function refuse(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, errors?: string[]): void {
  reply.headers(SECURITY_HEADERS);
  sendError(reply, request.id, { code, errors });
}

/**
 * Every route, of the public API and the operator API alike, gets only readable text from its URL:
 * a query parameter that is not text is a 400; a path parameter holding a control character
 * names nothing, so it gets the 404 an unknown id gets. Checked once here, before any guard,
 * pipe or handler, so that no route, an application's own included, can pass such text on to the
 * database. A request no route matched is left to the 404.
 */
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
