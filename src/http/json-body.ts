import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';

/**
 * No body of this API nests: anything deeper than this is refused before JSON.parse, so that
 * nothing recursive (the parser's poisoning scan, class-transformer, class-validator) can
 * overflow the stack on a small body of `[[[[…`.
 */
export const MAX_JSON_DEPTH = 16;

/** Whether `text` opens more than `max` arrays or objects inside one another: one pass, no recursion. */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

// Decoded UTF-8 holds no lone surrogates and JSON no raw NUL: only an escape (`\uD800`,
// `\u0000`) can make one.
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const NUL_ESCAPE = '\\u0000';

/**
 * Whether a parsed body (depth already bounded) holds a string, value or key, that is not
 * well-formed Unicode. Such strings collapse to U+FFFD when encoded, so two different passwords
 * would hash alike, and some validators throw on them.
 */
export function hasLoneSurrogate(text: string, value: unknown): boolean {
  return SURROGATE_ESCAPE.test(text) && !every(value, (item) => item.isWellFormed());
}

/** Whether a parsed body holds a string, value or key, with a NUL: PostgreSQL refuses it in text and jsonb (a 500). */
export function hasNul(text: string, value: unknown): boolean {
  return text.includes(NUL_ESCAPE) && !every(value, (item) => !item.includes('\0'));
}

/** Whether `test` holds for every string of a parsed body, keys included. */
function every(value: unknown, test: (text: string) => boolean): boolean {
  if (typeof value === 'string') return test(value);
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every((item) => every(item, test));
  return Object.entries(value).every(([key, item]) => test(key) && every(item, test));
}

const NUL_IN_BODY = 'El cuerpo contiene un carácter nulo';

const invalid = (detail: string) => new AppException(ErrorCode.InvalidRequest, { errors: [detail] });

/** Routes marked so (`@RouteConfig(FORM_BODY)`) also take `application/x-www-form-urlencoded`, as OAuth clients send it. */
export const FORM_BODY = { formBody: true } as const;

const takesForms = (request: FastifyRequest) => (request.routeOptions?.config as { formBody?: boolean } | undefined)?.formBody === true;

/** A form's fields, each at most once (RFC 6749 3.1), as an object of strings. */
function parseForm(text: string): Record<string, string> | AppException {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(fields, name)) return invalid(`${name} aparece más de una vez`);
    if (!name.isWellFormed() || !value.isWellFormed()) return invalid('El cuerpo contiene texto que no es Unicode válido');
    if (name.includes('\0') || value.includes('\0')) return invalid(NUL_IN_BODY);
    fields[name] = value;
  }
  return fields;
}

/**
 * Request bodies: JSON objects only (Fastify would also parse text/plain), checked before anything
 * recursive runs. A request no route matched is not judged by its body: routing answers first,
 * with the 404.
 */
export function parseJsonBodies(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  const unrouted = (request: FastifyRequest) => request.is404;
  fastify.removeAllContentTypeParsers();
  // An empty body is no body whatever its declared type (`curl -d ''`, `fetch` with body ''):
  // logout's body is optional. Anything else not sent as JSON is a 400.
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' || unrouted(request)) return done(null, undefined);
    done(invalid('El cuerpo debe enviarse como application/json'), undefined);
  });
  fastify.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length === 0 || unrouted(request)) return done(null, undefined);
    if (!takesForms(request)) return done(invalid('El cuerpo debe enviarse como application/json'), undefined);
    if (!isUtf8(bytes)) return done(invalid('El cuerpo contiene texto que no es Unicode válido'), undefined);
    const fields = parseForm(bytes.toString('utf8'));
    if (fields instanceof AppException) return done(fields, undefined);
    done(null, fields);
  });
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length === 0 || unrouted(request)) return done(null, undefined);
    // Decoding would turn invalid bytes into U+FFFD, so `pass\xffword` and `pass\xfeword` would be one password.
    if (!isUtf8(bytes)) return done(invalid('El cuerpo contiene texto que no es Unicode válido'), undefined);
    const text = bytes.toString('utf8');
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return done(invalid('El cuerpo JSON está demasiado anidado'), undefined);
    parseJson(request, text, (err, value) => {
      if (err) return done(invalid('El cuerpo no es JSON válido'), undefined);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return done(invalid('El cuerpo debe ser un objeto JSON'), undefined);
      }
      if (hasLoneSurrogate(text, value)) return done(invalid('El cuerpo contiene texto que no es Unicode válido'), undefined);
      if (hasNul(text, value)) return done(invalid(NUL_IN_BODY), undefined);
      done(null, value);
    });
  });
}
