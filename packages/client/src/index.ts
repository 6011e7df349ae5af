import { AuthClient, type AuthClientOptions } from './auth-client.js';

export { AuthClient, AuthError, type AuthClientOptions, type SignedOutReason, type Tokens } from './auth-client.js';
export type { components, operations, paths } from './schema.js';

/** The typed client of the auth backend, with its session: see docs/web-clients.md. */
export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new AuthClient(options);
}
