export interface ReceiverOptions {
  /** The auth server's base URL, without `/api/v1`: `https://auth.example.com`. */
  url: string;
  /** The introspection client's id and secret; the feed and the stream take the same credentials. */
  clientId: string;
  clientSecret: string;
  /** The `iss` the tokens must carry; default `auth-backend`. */
  issuer?: string;
  /** The `aud` the tokens must carry; default `auth-backend-clients`. */
  audience?: string;
  /** Base URL of the feed and the stream only; default `url`. */
  eventsUrl?: string;
  /** The declared bound in ms (default 1000); keep it well above the ~250 ms heartbeat interval. */
  stalenessMs?: number;
  /** When stale: ask the server (`introspect`, default) or refuse (`refuse`). */
  whenStale?: 'introspect' | 'refuse';
  /** Leeway for `exp`/`iat`/`nbf`, in seconds: 0 (default) to 5. */
  clockToleranceSeconds?: number;
  /** How long `start()` waits for the stream's first heartbeat before resolving stale; default 5000. */
  startTimeoutMs?: number;
  /** Timeout of one introspection, feed page or JWKS request, in milliseconds; default 3000. */
  requestTimeoutMs?: number;
  /** The fetch to call the server with; default the global one. */
  fetch?: typeof fetch;
  logger?: ReceiverLogger;
}

export interface ReceiverLogger {
  warn(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
}

export interface ResolvedOptions {
  url: string;
  eventsUrl: string;
  authorization: string;
  issuer: string;
  audience: string;
  stalenessMs: number;
  whenStale: 'introspect' | 'refuse';
  clockToleranceSeconds: number;
  startTimeoutMs: number;
  requestTimeoutMs: number;
  fetch: typeof fetch;
  logger: ReceiverLogger;
}

const SILENT: ReceiverLogger = { warn: () => {}, info: () => {} };
const MAX_CLOCK_TOLERANCE = 5;

/** Fills defaults and rejects settings that would void the bound. */
export function resolveOptions(options: ReceiverOptions): ResolvedOptions {
  const { url, clientId, clientSecret } = options;
  if (!url) throw new TypeError('url is required');
  if (!clientId || !clientSecret) throw new TypeError('clientId and clientSecret are required');
  if (clientId.includes(':')) throw new TypeError('clientId must not contain ":" (HTTP Basic)');
  const stalenessMs = options.stalenessMs ?? 1000;
  if (!Number.isFinite(stalenessMs) || stalenessMs <= 0) throw new RangeError('stalenessMs must be a positive number');
  const clockToleranceSeconds = options.clockToleranceSeconds ?? 0;
  if (!(clockToleranceSeconds >= 0 && clockToleranceSeconds <= MAX_CLOCK_TOLERANCE)) {
    throw new RangeError(`clockToleranceSeconds must be between 0 and ${MAX_CLOCK_TOLERANCE}`);
  }
  const whenStale = options.whenStale ?? 'introspect';
  if (whenStale !== 'introspect' && whenStale !== 'refuse') throw new TypeError("whenStale must be 'introspect' or 'refuse'");
  const fetcher = options.fetch ?? globalThis.fetch;
  return {
    url: withSlash(url),
    eventsUrl: withSlash(options.eventsUrl ?? url),
    authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
    issuer: options.issuer ?? 'auth-backend',
    audience: options.audience ?? 'auth-backend-clients',
    stalenessMs,
    whenStale,
    clockToleranceSeconds,
    startTimeoutMs: options.startTimeoutMs ?? 5000,
    requestTimeoutMs: options.requestTimeoutMs ?? 3000,
    // Called unbound: some fetch implementations need `this` to be the global.
    fetch: (input, init) => fetcher(input, init),
    logger: options.logger ?? SILENT,
  };
}

/** A base with a trailing slash, so that relative paths keep any prefix it has. */
function withSlash(base: string): string {
  const parsed = new URL(base);
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  return parsed.href;
}

export function endpoint(base: string, path: string): URL {
  return new URL(path, base);
}
