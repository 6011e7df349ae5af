import { STEP_UP_REQUIRED, messageOf } from './messages.js';

// Second factors as the client sees them: what the app's callbacks are asked and answer, and the errors when nobody answers.

/** The factors a user can prove at a login's second step. */
export type MfaMethod = 'totp' | 'webauthn' | 'recovery_code';

/**
 * WebAuthn request options as JSON (`PublicKeyCredentialRequestOptionsJSON`): give them to
 * `PublicKeyCredential.parseRequestOptionsFromJSON()` and `navigator.credentials.get()`.
 */
export type WebAuthnRequestOptions = Record<string, unknown>;
/** A WebAuthn assertion as JSON (`PublicKeyCredential.toJSON()` of what `navigator.credentials.get()` gave). */
export type WebAuthnAssertion = Record<string, unknown>;

/** A factor proved: a TOTP code, one of the recovery codes, or a passkey's assertion. */
export type FactorProof = { code: string } | { recoveryCode: string } | { webauthn: WebAuthnAssertion };
/** What step-up accepts: a factor, or the password for a user without factors. */
export type StepUpProof = FactorProof | { password: string };

/** What `POST /auth/login` answers instead of tokens for a user with a factor. */
export interface MfaChallenge {
  mfaRequired: true;
  /** Single use, valid 300 s, for `POST /auth/login/mfa`. */
  mfaToken: string;
  methods: MfaMethod[];
  /** With a passkey: the request options to answer. */
  webauthn?: WebAuthnRequestOptions;
}

/** What `onMfaRequired` is asked: which factors, and why it is asked again. */
export interface MfaPrompt {
  methods: MfaMethod[];
  webauthn?: WebAuthnRequestOptions;
  /** 1 the first time; more after a refused proof. */
  attempt: number;
  /** The refusal of the previous proof (`Código de verificación inválido`, …). */
  error?: AuthError;
}

/** What `onStepUp` is asked: the route's `max_age` (when the API's headers can be read), and why it is asked again. */
export interface StepUpPrompt {
  maxAge?: number;
  attempt: number;
  error?: AuthError;
}

/** A login, refresh, logout, second step or step-up the API refused, for a reason other than the session being over. */
export class AuthError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: string[],
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/**
 * The login needs a second factor and none was given (no `onMfaRequired`, or it gave up, or the
 * `mfaToken` died): `methods` says which; `loginMfa(mfaToken, proof)` finishes it while the token lives.
 */
export class MfaRequiredError extends AuthError {
  readonly mfaToken: string;
  readonly methods: MfaMethod[];
  readonly webauthn?: WebAuthnRequestOptions;

  constructor(
    challenge: MfaChallenge,
    /** The refusal of the last proof tried, if any. */
    override readonly cause?: AuthError,
  ) {
    super(200, 'Se requiere un segundo factor');
    this.name = 'MfaRequiredError';
    this.mfaToken = challenge.mfaToken;
    this.methods = challenge.methods;
    if (challenge.webauthn !== undefined) this.webauthn = challenge.webauthn;
  }
}

/** A request wanted a recent factor (RFC 9470) and none was proved (no `onStepUp`, or it gave up). The session lives. */
export class StepUpRequiredError extends AuthError {
  constructor(
    readonly maxAge?: number,
    override readonly cause?: AuthError,
  ) {
    super(401, STEP_UP_REQUIRED);
    this.name = 'StepUpRequiredError';
  }
}

/**
 * A step-up challenge: by its header when readable (the API exposes WWW-Authenticate to its CORS
 * origins), else by its message. Undefined when the response is something else.
 */
export async function stepUpChallengeOf(response: Response): Promise<{ maxAge?: number } | undefined> {
  if (response.status !== 401) return undefined;
  const header = response.headers.get('www-authenticate') ?? '';
  if (!/error="insufficient_user_authentication"/.test(header) && (await messageOf(response)) !== STEP_UP_REQUIRED) return undefined;
  const maxAge = /max_age=(\d+)/.exec(header)?.[1];
  return maxAge === undefined ? {} : { maxAge: Number(maxAge) };
}

export function isMfaChallenge(data: unknown): data is MfaChallenge {
  return typeof data === 'object' && data !== null && (data as { mfaRequired?: unknown }).mfaRequired === true;
}
