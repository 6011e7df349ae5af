import createClient, { type Client } from 'openapi-fetch';
import {
  AuthError,
  type FactorProof,
  isMfaChallenge,
  type MfaChallenge,
  type MfaPrompt,
  MfaRequiredError,
  type StepUpProof,
  type StepUpPrompt,
  StepUpRequiredError,
  stepUpChallengeOf,
  type WebAuthnAssertion,
  type WebAuthnRequestOptions,
} from './factors.js';
import { INVALID_CREDENTIALS, INVALID_MFA_CODE, SESSION_OVER, TOKEN_EXPIRED, messageOf } from './messages.js';
import type { components, paths } from './schema.js';
import { NO_TABS, openTabs, type TabMessage, type Tabs } from './tabs.js';

export type Tokens = components['schemas']['TokensDto'];

/** Why the user is signed out: they logged out here, the server ended the session, or another tab learnt either. */
export type SignedOutReason = 'logout' | 'session-ended' | 'other-tab';

export interface AuthClientOptions {
  /** Where the API is served, without `/api/v1`: `https://auth.example.com`. */
  baseUrl: string;
  /** `bearer` (default): refresh token in bodies, kept in memory; `cookie`: REFRESH_TOKEN_COOKIE=true, tabs share it. */
  mode?: 'bearer' | 'cookie';
  /** Seconds before the access token's expiry at which a call refreshes it first; default a fifth of its life, at most 60. */
  refreshBefore?: number;
  /** The fetch to call the API with: in Node, one with a cookie jar for cookie mode. */
  fetch?: typeof fetch;
  /** Cookie mode: the name tabs coordinate under (default from baseUrl), or false for none. */
  tabs?: string | false;
  /**
   * A login needs a second factor: ask the user and answer a proof, or null to give up (the login
   * then rejects with MfaRequiredError). Asked again, with the refusal, after a wrong code.
   * Without it, such a login rejects with MfaRequiredError.
   */
  onMfaRequired?: (prompt: MfaPrompt) => Promise<FactorProof | null | undefined>;
  /**
   * A request wants a factor proved lately on this session (401 `Se requiere autenticación
   * reciente`): answer a proof, or null to give up; the request is sent again once after it.
   * Without it, or given up, the request rejects with StepUpRequiredError. The session lives on.
   */
  onStepUp?: (prompt: StepUpPrompt) => Promise<StepUpProof | null | undefined>;
}

export { AuthError };

const JSON_HEADERS = { 'content-type': 'application/json' };
/** A refresh whose answer was lost is sent once more: the server answers a retry with the same successor. */
const REFRESH_RETRY_MS = 250;
/** The server kills an mfaToken after this many wrong proofs: asking the user again would be in vain. */
const MFA_ATTEMPTS = 5;

/** A refused proof the user may correct: a wrong code or password, or one the API could not read. */
const mayRetry = (error: unknown): error is AuthError =>
  error instanceof AuthError && (error.status === 400 || (error.status === 401 && (error.message === INVALID_MFA_CODE || error.message === INVALID_CREDENTIALS)));

export class AuthClient {
  /** Typed calls of every operation in openapi.json: `api.GET('/api/v1/auth/me')`. */
  readonly api: Client<paths>;
  private readonly base: typeof fetch;
  private readonly tabs: Tabs;
  private readonly listeners = new Set<(reason: SignedOutReason) => void>();
  private accessToken: string | undefined;
  private refreshToken: string | undefined;
  private expiresAt = 0;
  private lifetimeMs = 0;
  private refreshing: Promise<string | undefined> | undefined;
  private steppingUp: Promise<void> | undefined;
  /** When a step-up last succeeded here: a request sent before it and challenged is only sent again. */
  private steppedUpAt = 0;

  constructor(private readonly options: AuthClientOptions) {
    const fetcher = options.fetch ?? globalThis.fetch;
    this.base = (input, init) => fetcher(input, init);
    const cookie = options.mode === 'cookie';
    this.tabs = cookie && options.tabs !== false ? openTabs(options.tabs || `auth-backend ${options.baseUrl}`, (m) => this.hear(m)) : NO_TABS;
    this.api = createClient<paths>({ baseUrl: options.baseUrl, fetch: this.fetch, credentials: cookie ? 'include' : 'same-origin' });
  }

  get signedIn(): boolean {
    return this.accessToken !== undefined;
  }

  /** Calls `listener` each time the user goes from signed in to signed out; returns its removal. */
  onSignedOut(listener: (reason: SignedOutReason) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Signed in, after the second factor `onMfaRequired` gives when the user has one. */
  async login(email: string, password: string): Promise<Tokens> {
    return this.signIn(await this.post('/api/v1/auth/login', { email, password }));
  }

  /** A login's second step by hand (after catching MfaRequiredError): its `mfaToken` and a proof. */
  async loginMfa(mfaToken: string, proof: FactorProof): Promise<Tokens> {
    return this.signIn(await this.post('/api/v1/auth/login/mfa', { mfaToken, ...proof }));
  }

  /**
   * Passwordless, with a passkey: `getAssertion` turns the API's request options into an
   * assertion (in a browser, `navigator.credentials.get()` and `toJSON()`).
   */
  async loginWithPasskey(getAssertion: (options: WebAuthnRequestOptions) => Promise<WebAuthnAssertion>): Promise<Tokens> {
    const options = await this.dataOf<WebAuthnRequestOptions>(await this.post('/api/v1/auth/passkeys/login/options', {}));
    return this.signIn(await this.post('/api/v1/auth/passkeys/login', { credential: await getAssertion(options) }));
  }

  /**
   * Proves a factor (or, without factors, the password) on this session now: what `onStepUp`
   * does for a request, for an app that asks before it sends. Throws AuthError when refused.
   */
  async stepUp(proof: StepUpProof): Promise<void> {
    const response = await this.fetch(this.url('/api/v1/auth/step-up'), {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(proof),
      credentials: this.credentials(),
    });
    if (!response.ok) throw await this.errorOf(response);
  }

  /** Request options for the user's own passkeys, to answer a step-up with `{ webauthn }` (400 for a user without passkeys). */
  async stepUpPasskeyOptions(): Promise<WebAuthnRequestOptions> {
    const response = await this.fetch(this.url('/api/v1/auth/passkeys/step-up/options'), {
      method: 'POST',
      headers: JSON_HEADERS,
      body: '{}',
      credentials: this.credentials(),
    });
    return this.dataOf<WebAuthnRequestOptions>(response);
  }

  /** Cookie mode, on page load: signed in from the refresh cookie if its session lives; bearer mode: `signedIn`. */
  async restore(): Promise<boolean> {
    if (this.options.mode !== 'cookie') return this.signedIn;
    return (await this.refresh()) !== undefined;
  }

  /** A 401 means it had ended already; any other failure throws and keeps the session, for the app to retry. */
  async logout(scope: 'current' | 'others' | 'all' = 'current'): Promise<void> {
    const response = await this.fetch(this.url('/api/v1/auth/logout'), {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(scope === 'current' ? {} : { scope }),
      credentials: this.credentials(),
    });
    if (!response.ok && response.status !== 401) throw await this.errorOf(response);
    if (scope !== 'others') this.end('logout');
  }

  /**
   * `fetch` with the session: for routes of your own the OpenAPI document does not list yet. A
   * step-up challenge asks `onStepUp` and sends the request once more; it never ends the session.
   */
  readonly fetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const token = await this.currentToken();
    if (!token) return this.base(request);
    const sentAt = performance.now();
    let [response, sent] = await this.authorized(request, token);
    const challenge = await stepUpChallengeOf(response);
    if (challenge && !request.url.endsWith('/api/v1/auth/step-up')) {
      if (this.steppedUpAt <= sentAt) await this.promptStepUp(challenge.maxAge);
      [response, sent] = await this.authorized(request, (await this.currentToken()) ?? sent);
      const again = await stepUpChallengeOf(response);
      if (again) throw new StepUpRequiredError(again.maxAge);
    }
    return this.settle(response, sent);
  };

  /** One at a time; `stale`, the token found wanting: if something replaced it already, that is the answer. */
  refresh(stale?: string): Promise<string | undefined> {
    if (this.refreshing) return this.refreshing;
    const replaced = () => stale !== undefined && this.accessToken !== undefined && this.accessToken !== stale && this.fresh();
    if (replaced()) return Promise.resolve(this.accessToken);
    this.refreshing = this.tabs
      .exclusively(() => (replaced() ? Promise.resolve(this.accessToken) : this.requestRefresh()))
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Stops listening to other tabs. */
  close(): void {
    this.tabs.close();
  }

  /** Sent with `token`; on a 403 for its expiry, refreshed and sent once more. The body is cloned for each send. */
  private async authorized(request: Request, token: string): Promise<[Response, string]> {
    const response = await this.send(request.clone(), token);
    if (response.status === 403 && (await messageOf(response)) === TOKEN_EXPIRED) {
      const fresh = await this.refresh(token);
      if (fresh) return [await this.send(request.clone(), fresh), fresh];
    }
    return [response, token];
  }

  /** One prompt at a time: requests challenged together wait for the same step-up, then each is sent again. */
  private promptStepUp(maxAge: number | undefined): Promise<void> {
    this.steppingUp ??= this.askForStepUp(maxAge).finally(() => {
      this.steppingUp = undefined;
    });
    return this.steppingUp;
  }

  private async askForStepUp(maxAge: number | undefined): Promise<void> {
    const ask = this.options.onStepUp;
    if (!ask) throw new StepUpRequiredError(maxAge);
    let error: AuthError | undefined;
    for (let attempt = 1; ; attempt++) {
      const proof = await ask({ ...(maxAge !== undefined && { maxAge }), attempt, ...(error && { error }) });
      if (!proof) throw new StepUpRequiredError(maxAge, error);
      try {
        await this.stepUp(proof);
        this.steppedUpAt = performance.now();
        return;
      } catch (refused) {
        if (!mayRetry(refused)) throw refused;
        error = refused;
      }
    }
  }

  /** A login's answer: tokens, or the second step `onMfaRequired` answers, as often as the user corrects a code. */
  private async signIn(response: Response): Promise<Tokens> {
    const data = await this.dataOf<Tokens | MfaChallenge>(response);
    if (!isMfaChallenge(data)) {
      this.accept(data);
      return data;
    }
    const ask = this.options.onMfaRequired;
    if (!ask) throw new MfaRequiredError(data);
    let error: AuthError | undefined;
    for (let attempt = 1, wrong = 0; ; attempt++) {
      const proof = await ask({ methods: data.methods, ...(data.webauthn !== undefined && { webauthn: data.webauthn }), attempt, ...(error && { error }) });
      if (!proof) throw new MfaRequiredError(data, error);
      try {
        return await this.loginMfa(data.mfaToken, proof);
      } catch (refused) {
        if (!mayRetry(refused)) throw refused;
        error = refused;
        if (refused.status === 401 && ++wrong >= MFA_ATTEMPTS) throw refused;
      }
    }
  }

  private async currentToken(): Promise<string | undefined> {
    if (this.accessToken === undefined || this.fresh()) return this.accessToken;
    return this.refresh(this.accessToken);
  }

  private fresh(): boolean {
    const margin = this.options.refreshBefore !== undefined ? this.options.refreshBefore * 1000 : Math.min(60_000, this.lifetimeMs / 5);
    return Date.now() < this.expiresAt - margin;
  }

  private async requestRefresh(): Promise<string | undefined> {
    const cookie = this.options.mode === 'cookie';
    if (!cookie && this.refreshToken === undefined) return undefined;
    const call = () =>
      this.base(this.url('/api/v1/auth/refresh'), {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify(cookie ? {} : { refreshToken: this.refreshToken }),
        credentials: this.credentials(),
      });
    let response: Response;
    try {
      response = await call();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, REFRESH_RETRY_MS));
      response = await call();
    }
    if (response.status === 401) {
      this.end('session-ended');
      return undefined;
    }
    const tokens = await this.tokensOf(response);
    this.accept(tokens);
    return tokens.accessToken;
  }

  private accept(tokens: Tokens): void {
    this.accessToken = tokens.accessToken;
    this.lifetimeMs = tokens.expiresIn * 1000;
    this.expiresAt = Date.now() + this.lifetimeMs;
    if (tokens.refreshToken !== undefined) this.refreshToken = tokens.refreshToken;
    this.tabs.tell({ type: 'tokens', accessToken: this.accessToken, expiresAt: this.expiresAt });
  }

  private hear(message: TabMessage): void {
    if (message.type === 'signed-out') return this.end('other-tab', false);
    this.lifetimeMs = this.accessToken === undefined ? message.expiresAt - Date.now() : this.lifetimeMs;
    this.accessToken = message.accessToken;
    this.expiresAt = message.expiresAt;
  }

  private end(reason: SignedOutReason, tell = true): void {
    const was = this.signedIn;
    this.accessToken = this.refreshToken = undefined;
    this.expiresAt = 0;
    if (tell && was) this.tabs.tell({ type: 'signed-out' });
    if (was) for (const listener of this.listeners) listener(reason);
  }

  private send(request: Request, token: string): Promise<Response> {
    const headers = new Headers(request.headers);
    headers.set('authorization', `Bearer ${token}`);
    return this.base(new Request(request, { headers }));
  }

  /** A 401 for the token in use: the session is over. (A 401 for credentials says otherwise.) */
  private async settle(response: Response, sent: string): Promise<Response> {
    if (response.status === 401 && this.accessToken === sent && (await messageOf(response)) === SESSION_OVER) this.end('session-ended');
    return response;
  }

  private async tokensOf(response: Response): Promise<Tokens> {
    return this.dataOf<Tokens>(response);
  }

  private async dataOf<T>(response: Response): Promise<T> {
    if (!response.ok) throw await this.errorOf(response);
    return ((await response.json()) as { data: T }).data;
  }

  /** A call without the session (login and its steps). */
  private post(path: string, body: object): Promise<Response> {
    return this.base(this.url(path), { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body), credentials: this.credentials() });
  }

  private async errorOf(response: Response): Promise<AuthError> {
    const body = (await response.json().catch(() => ({}))) as { message?: string; errors?: string[] };
    return new AuthError(response.status, body.message ?? response.statusText, body.errors);
  }

  private url(path: string): string {
    return `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
  }

  private credentials(): RequestInit['credentials'] {
    return this.options.mode === 'cookie' ? 'include' : 'same-origin';
  }
}
