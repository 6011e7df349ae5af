import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';

// Refused before JSON.parse: nothing recursive (poisoning scan, class-transformer) may overflow the stack on `[[[[…`.
export const MAX_JSON_DEPTH = 16;

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

// Decoded UTF-8 holds no lone surrogate and JSON no raw NUL: only an escape can make one.
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const NUL_ESCAPE = '\\u0000';

// Such strings collapse to U+FFFD when encoded: two different passwords would hash alike.
export function hasLoneSurrogate(text: string, value: unknown): boolean {
  return SURROGATE_ESCAPE.test(text) && !every(value, (item) => item.isWellFormed());
}

// PostgreSQL refuses a NUL in text and jsonb (it made a 500).
export function hasNul(text: string, value: unknown): boolean {
  return text.includes(NUL_ESCAPE) && !every(value, (item) => !item.includes('\0'));
}

function every(value: unknown, test: (text: string) => boolean): boolean {
  if (typeof value === 'string') return test(value);
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every((item) => every(item, test));
  return Object.entries(value).every(([key, item]) => test(key) && every(item, test));
}

const NUL_IN_BODY = 'El cuerpo contiene un carácter nulo';

const invalid = (detail: string) => new AppException(ErrorCode.InvalidRequest, { errors: [detail] });

/** `@RouteConfig(FORM_BODY)`: OAuth clients send forms. */
export const FORM_BODY = { formBody: true } as const;

const takesForms = (request: FastifyRequest) => (request.routeOptions?.config as { formBody?: boolean } | undefined)?.formBody === true;

// RFC 6749 3.1: a field at most once.
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

// JSON objects only (Fastify would take text/plain too); an unrouted request gets its 404, not a body's 400.
export function parseJsonBodies(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  const unrouted = (request: FastifyRequest) => request.is404;
  fastify.removeAllContentTypeParsers();
  // An empty body is no body whatever its type (`curl -d ''`): logout's body is optional.
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
    // Decoding makes invalid bytes U+FFFD: `pass\xffword` and `pass\xfeword` would be one password.
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
