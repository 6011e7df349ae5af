import { AuthClient, type AuthClientOptions } from './auth-client.js';

export { AuthClient, type AuthClientOptions, type SignedOutReason, type Tokens } from './auth-client.js';
export {
  AuthError,
  type FactorProof,
  type MfaChallenge,
  type MfaMethod,
  type MfaPrompt,
  MfaRequiredError,
  type StepUpProof,
  type StepUpPrompt,
  StepUpRequiredError,
  type WebAuthnAssertion,
  type WebAuthnRequestOptions,
} from './factors.js';
export type { components, operations, paths } from './schema.js';

export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new AuthClient(options);
}
