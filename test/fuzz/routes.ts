import { API } from '../support/requests.js';

// The routes the fuzz aims at, and paths beside them.



/** `{id}` in a path stands for a session id made from the recipe's `id`. */
export const ID = '{id}';
export const ROUTES = {
  register: `${API}/register`,
  login: `${API}/login`,
  logout: `${API}/logout`,
  me: `${API}/me`,
  refresh: `${API}/refresh`,
  sessions: `${API}/sessions`,
  session: `${API}/sessions/${ID}`,
  password: `${API}/password`,
  // Recovery and verification: their links' tokens are never in the fuzz's hands, so they may
  // answer 2xx only where the contract does without one (forgot), and end nothing.
  forgot: `${API}/password/forgot`,
  reset: `${API}/password/reset`,
  verify: `${API}/email/verify`,
  resend: `${API}/email/verify/resend`,
  // With A's right password under A's live bearer, it deletes A: the fuzz then registers A again.
  account: `${API}/account`,
  // Second factors: user A has none here, so none of these may end a session; test/fuzz/second-factors.e2e-spec.ts fuzzes them with factors.
  mfaTotp: `${API}/mfa/totp`,
  mfaTotpConfirm: `${API}/mfa/totp/confirm`,
  mfaFactors: `${API}/mfa/factors`,
  mfaFactor: `${API}/mfa/factors/${ID}`,
  recoveryCodes: `${API}/mfa/recovery-codes`,
  loginMfa: `${API}/login/mfa`,
  stepUp: `${API}/step-up`,
  passkeyRegisterOptions: `${API}/passkeys/register/options`,
  passkeyRegister: `${API}/passkeys/register`,
  passkeyStepUpOptions: `${API}/passkeys/step-up/options`,
  passkeyLoginOptions: `${API}/passkeys/login/options`,
  passkeyLogin: `${API}/passkeys/login`,
  health: '/health',
  docs: '/api/docs',
  docsJson: '/api/docs-json',
} as const;
export const OTHER_PATHS = [
  '/',
  '/api',
  API,
  `${API}/`,
  `${API}/sessions/`,
  `${API}/sessions/${ID}/extra`,
  `${ROUTES.me}/extra`,
  '/api/v2/auth/me',
  '/api/docs/swagger-ui.css',
  '/api/docs-yaml',
  '/favicon.ico',
];
