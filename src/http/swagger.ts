import type { INestApplication } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { IS_PUBLIC } from '../auth/public.decorator.js';
import { ErrorCode } from '../errors/error-code.js';
import { RATE_LIMIT } from '../rate-limit/rate-limit.decorator.js';
import { errorResponses } from './api-responses.decorator.js';
import { ErrorEnvelopeDto } from './error-envelope.dto.js';

export const DOCS_PATH = 'api/docs';
export const BEARER = 'bearer';
export const BASIC = 'basic';

interface Operation {
  operationId?: string;
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

// Operation ids are handler names, so a handler's metadata can be found for its operation.
function handlersOf(app: INestApplication): Map<string, { handler: object; controller: object }> {
  const handlers = new Map<string, { handler: object; controller: object }>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (!metatype) continue;
      for (const name of Object.getOwnPropertyNames(metatype.prototype)) {
        const handler = (metatype.prototype as Record<string, unknown>)[name];
        if (typeof handler === 'function' && Reflect.hasMetadata(PATH_METADATA, handler)) handlers.set(name, { handler, controller: metatype });
      }
    }
  }
  return handlers;
}

const metadataOf = (key: string, { handler, controller }: { handler: object; controller: object }): unknown =>
  Reflect.getMetadata(key, handler) ?? Reflect.getMetadata(key, controller);

// The guards, the URL checks, the body parser and the filter answer these whatever a route's decorators say.
function completeOperation(path: string, operation: Operation, route: { handler: object; controller: object } | undefined): void {
  if (!operation.security) {
    const isPublic = !route || metadataOf(IS_PUBLIC, route) === true;
    operation.security = isPublic ? [] : [{ [BEARER]: [] }];
  }
  const schemes = new Set(operation.security.flatMap((requirement) => Object.keys(requirement)));
  // 408 on any route: the whole request, headers included, has a deadline.
  const codes: ErrorCode[] = [ErrorCode.InvalidRequest, ErrorCode.RequestTimeout];
  if (operation.requestBody) codes.push(ErrorCode.PayloadTooLarge);
  if (path.includes('{')) codes.push(ErrorCode.NotFound);
  if (schemes.has(BEARER)) codes.push(ErrorCode.InvalidToken, ErrorCode.TokenExpired);
  if (schemes.has(BASIC)) codes.push(ErrorCode.InvalidClient, ErrorCode.TooManyRequests);
  if (route && Reflect.getMetadata(RATE_LIMIT, route.handler)) codes.push(ErrorCode.TooManyRequests);
  codes.push(ErrorCode.Internal);
  for (const [status, { description, content }] of Object.entries(errorResponses(codes))) {
    operation.responses[status] ??= { description, content };
  }
  operation.responses = Object.fromEntries(Object.entries(operation.responses).sort(([a], [b]) => a.localeCompare(b)));
}

// A generated client names its calls by operation id: two handlers of one name would make one call, so the app stops.
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Auth backend')
      .setDescription(
        'JWT authentication whose logout really ends the session: a logged-out token is refused on ' +
          'every protected route of every instance at once. Every body is an envelope ' +
          '`{ success, message, data?, errors? }`.',
      )
      .setVersion('1.0')
      .setLicense('MIT', 'https://opensource.org/licenses/MIT')
      .addServer('/', 'This server')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from login or refresh' }, BEARER)
      .addBasicAuth({ type: 'http', scheme: 'basic', description: 'An INTROSPECTION_CLIENTS id and secret, for other services' }, BASIC)
      .addTag('auth', 'Accounts, sessions opened and ended, tokens')
      .addTag('sessions', "The caller's sessions: list them, end one")
      .addTag('accounts', 'Recovery, verification and deletion of accounts, by mailed links')
      .addTag('introspection', 'For other services: token introspection (RFC 7662) and the public keys (JWKS)')
      .addTag('events', 'For other services: the session events, as a feed and as a stream')
      .addTag('health', 'Probes for orchestrators and load balancers')
      .build(),
    { operationIdFactory: (_controller, method) => method, extraModels: [ErrorEnvelopeDto] },
  );
  const handlers = handlersOf(app);
  const seen = new Map<string, string>();
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations as Record<string, Operation>)) {
      const id = operation.operationId;
      completeOperation(path, operation, id === undefined ? undefined : handlers.get(id));
      if (!id) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const other = seen.get(id);
      if (other) throw new Error(`Two routes have the operation id "${id}" (${other} and ${where}): rename one of their handlers`);
      seen.set(id, where);
    }
  }
  return document;
}

export function serveSwagger(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH, app, openApiDocument(app), {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    swaggerOptions: { persistAuthorization: true },
  });
}
