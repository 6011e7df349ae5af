import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export const DOCS_PATH = 'api/docs';

/**
 * The OpenAPI document of the app's routes, the application's own included. An operation's id is
 * its handler's name (`login`, `listSessions`), which a generated client turns into its call; two
 * handlers of one name would make two operations one, so that stops the app at start.
 */
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
      .addBearerAuth()
      .addTag('auth', 'Accounts, sessions opened and ended, tokens')
      .addTag('sessions', "The caller's sessions: list them, end one")
      .addTag('accounts', 'Recovery, verification and deletion of accounts, by mailed links')
      .addTag('introspection', 'For other services: token introspection (RFC 7662) and the public keys (JWKS)')
      .addTag('events', 'For other services: the session events, as a feed and as a stream')
      .addTag('health', 'Probes for orchestrators and load balancers')
      .build(),
    { operationIdFactory: (_controller, method) => method },
  );
  const seen = new Map<string, string>();
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations as Record<string, { operationId?: string; security?: unknown[] }>)) {
      // A public route says so (no credentials), rather than leaving a reader to guess.
      operation.security ??= [];
      const id = operation.operationId;
      if (!id) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const other = seen.get(id);
      if (other) throw new Error(`Two routes have the operation id "${id}" (${other} and ${where}): rename one of their handlers`);
      seen.set(id, where);
    }
  }
  return document;
}

/** Swagger UI at /api/docs, the OpenAPI document at /api/docs-json. */
export function serveSwagger(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH, app, openApiDocument(app), {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    swaggerOptions: { persistAuthorization: true },
  });
}
