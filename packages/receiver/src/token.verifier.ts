import { createRemoteJWKSet, customFetch, errors, jwtVerify } from 'jose';
import { endpoint, type ResolvedOptions } from './options.js';
import type { ReceiverClaims, RefusalReason } from './result.js';

export type LocalResult = { ok: true; claims: ReceiverClaims } | { ok: false; reason: RefusalReason };

/** Far above any access token the server issues: a cheap guard before parsing. */
const MAX_TOKEN_LENGTH = 8192;
/** An unknown kid refetches the key set at most this often (a rotation is picked up, a flood is not). */
const JWKS_COOLDOWN_MS = 30_000;

/** Signature and claims, checked against the server's published keys; no other network call. */
export class TokenVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly options: ResolvedOptions) {
    const fetcher = options.fetch;
    this.keys = createRemoteJWKSet(endpoint(options.url, '.well-known/jwks.json'), {
      cooldownDuration: JWKS_COOLDOWN_MS,
      timeoutDuration: options.requestTimeoutMs,
      [customFetch]: (url, init) => fetcher(url, init),
    });
  }

  /** Fetches the key set now, so that the first verification does not wait for it. */
  async load(): Promise<void> {
    await this.keys.reload();
  }

  async verify(token: string): Promise<LocalResult> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'invalid' };
    try {
      // The key comes only from the published set by kid: jku, jwk and x5u headers are never read.
      const { payload } = await jwtVerify(token, this.keys, {
        algorithms: ['EdDSA'],
        typ: 'JWT',
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'sub', 'sid'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || !payload.sid) return { ok: false, reason: 'invalid' };
      return { ok: true, claims: payload as ReceiverClaims };
    } catch (err) {
      return { ok: false, reason: reasonOf(err, this.options) };
    }
  }
}

function reasonOf(err: unknown, options: ResolvedOptions): RefusalReason {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (keysUnreachable(err)) {
    options.logger.warn('The auth server key set could not be loaded', { error: String(err) });
    return 'unavailable';
  }
  return 'invalid';
}

/** The key set could not be fetched or read: the token may be good, we cannot tell. */
function keysUnreachable(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return true;
  // jose's own fetch failures are plain JOSEErrors (non-200, unparsable body); fetch's are not JOSEErrors.
  if (err instanceof errors.JOSEError) return err.code === errors.JOSEError.code;
  return true;
}
