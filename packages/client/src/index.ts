import { AuthClient, type AuthClientOptions } from './auth-client.js';

export { AuthClient, AuthError, type AuthClientOptions, type SignedOutReason, type Tokens } from './auth-client.js';
export type { components, operations, paths } from './schema.js';

export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new AuthClient(options);
}
