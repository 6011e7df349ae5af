import http from 'node:http';
import { BAD_CREDENTIALS_BODY, envelope, INVALID_TOKEN_BODY, MESSAGES } from '../support/messages.js';
import { API } from '../support/requests.js';
import type { Request } from './materializer.js';
import { ROUTES } from './routes.js';
import { FuzzState } from './state.js';

// Sending a request as made, and the properties every answer must have.

export const MAX_TOKEN_LENGTH = 4096;
export const HEALTHY = 'Servicio disponible';
export const ME = 'Usuario autenticado';
/** 2xx answers that need no credential. */
export const PUBLIC_SUCCESSES = new Set<string>([MESSAGES.registered, MESSAGES.loggedIn, HEALTHY, MESSAGES.resetRequested]);
export const PASSKEY_OPTIONS = 'Opciones de llave de acceso';
export const ENVELOPE_KEYS = new Set(['success', 'message', 'data', 'errors']);
/** REFRESH_REUSE_GRACE as the app under fuzz has it (the default), and how much clock skew a verdict allows. */
export const GRACE_MS = 10_000;
export const SKEW_MS = 1_000;
export const NOT_FOUND_BODY = envelope(MESSAGES.notFound);
export const LIVE_KEYS = ['amr', 'createdAt', 'current', 'device', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'userAgent'];
export const ENDED_KEYS = [...LIVE_KEYS, 'endReason', 'endedAt'].sort();
export const END_REASONS = new Set([
  'logout',
  'logout_others',
  'logout_all',
  'revoked_by_id',
  'password_changed',
  'refresh_reuse',
  'idle_timeout',
  'expired',
  'mfa_enabled',
  'mfa_removed',
  'mfa_reset',
  'recovery_code_used',
]);
export const SCOPES = new Set(['current', 'others', 'all']);

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** What Node's HTTP client refused in the answer, after its status line and headers. */
  protocolError?: string;
}

/** Plain node:http, so that paths, methods, headers and bytes go out exactly as made. */
export function send(port: number, req: Request): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(req.body.length);
    let answered: Response | undefined;
    const outgoing = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent: false, timeout: 15_000 },
      (res) => {
        answered = { status: res.statusCode!, headers: res.headers, text: '' };
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ ...answered!, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('no answer within 15 s')));
    outgoing.on('error', (err: Error & { code?: string }) =>
      // An answer followed by bytes the HTTP parser refuses (a body after a HEAD answer, say).
      answered ? resolve({ ...answered, protocolError: `${err.code ?? ''} ${err.message}` }) : reject(err),
    );
    outgoing.end(req.body);
  });
}

export const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

export function describeExchange(req: Request, res: Response | Error): string {
  const head = Object.entries(req.headers).map(([k, v]) => `  ${k}: ${clip(JSON.stringify(v), 200)}`);
  const body = req.body === undefined ? '(no body)' : clip(JSON.stringify(req.body.toString('utf8')), 500);
  const answer =
    res instanceof Error
      ? `no answer: ${res.message}`
      : [
          `${res.status}${res.protocolError ? ` (then: ${res.protocolError})` : ''}`,
          ...['content-type', 'x-request-id', 'www-authenticate'].map((h) => `  ${h}: ${clip(String(res.headers[h]), 200)}`),
          `  ${clip(JSON.stringify(res.text), 500)}`,
        ].join('\n');
  return [`request: ${req.method} ${clip(req.path, 200)}`, ...head, `  body: ${body}`, `response: ${answer}`].join('\n');
}

/**
 * Node's HTTP parser refuses it (unknown method, a request target that is not a path, over 16 KiB
 * of headers): the server answers without ever reading its headers.
 */
export function unparseable(req: Request): boolean {
  const head = req.path.length + Object.entries(req.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
  return !http.METHODS.includes(req.method) || !req.path.startsWith('/') || head > 16_000;
}

/** The path part of a request target, percent-decoded as the router decodes it. */
export function pathnameOf(target: string): string {
  const pathname = target.split(/[?#]/)[0];
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname; // routed nowhere
  }
}

/** The session id a DELETE /sessions/:id names, lowercased, as the router hands it over. */
export function sessionIdInPath(target: string): string | undefined {
  const match = /\/sessions\/([^/]+)\/?$/.exec(target.split(/[?#]/)[0]!);
  try {
    return match ? decodeURIComponent(match[1]!).toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

/** How deeply a JSON value nests: 0 for a scalar. */
export const depthOf = (value: unknown): number =>
  typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;

/** Whether a JSON value holds a NUL in a string or a key: the body's 400 comes first. */
export const hasNul = (value: unknown): boolean =>
  typeof value === 'string'
    ? value.includes('\0')
    : typeof value === 'object' && value !== null && Object.entries(value).some(([key, item]) => key.includes('\0') || hasNul(item));

/** The claims of a JWT, without checking anything. */
export function decodePayload(token: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Whether the server would route this path under /api/docs: the Swagger UI, its assets, the documents. */
export const isDocsPath = (target: string) => pathnameOf(target).startsWith('/api/docs');

export function envelopeProblems(res: Response): string[] {
  if (!/^application\/json\b/.test(res.headers['content-type'] ?? '')) return ['content-type is not application/json'];
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return ['body is not JSON'];
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return ['body is not a JSON object'];
  const b = body as Record<string, unknown>;
  const problems: string[] = [];
  const extra = Object.keys(b).filter((k) => !ENVELOPE_KEYS.has(k));
  if (extra.length) problems.push(`keys outside the envelope: ${extra.join(', ')}`);
  if (typeof b.success !== 'boolean') problems.push('success is not a boolean');
  if (typeof b.message !== 'string' || b.message === '') problems.push('message is not a non-empty string');
  if ('data' in b && (typeof b.data !== 'object' || b.data === null || Array.isArray(b.data))) problems.push('data is not an object');
  if ('errors' in b && (!Array.isArray(b.errors) || !b.errors.every((e) => typeof e === 'string'))) {
    problems.push('errors is not an array of strings');
  }
  if (b.success !== (res.status >= 200 && res.status < 300)) problems.push(`success ${String(b.success)} with status ${res.status}`);
  if (b.message === MESSAGES.invalidToken && res.text !== INVALID_TOKEN_BODY) problems.push('a 401 body unlike the one 401 body');
  if (/QueryFailedError|\n\s+at \S|file:\/\/|FST_ERR/.test(res.text)) problems.push('something internal in the body');
  return problems;
}

/** Properties 1 to 3: the answer on its own. Also returns its envelope, if it is one. */
export function checkAnswer(
  req: Request,
  res: Response,
  state: FuzzState,
): { problems: string[]; body?: Record<string, unknown> } {
  const problems: string[] = [];
  if (res.protocolError) problems.push(`an answer Node's HTTP client refuses: ${res.protocolError}`);
  const ok = res.status >= 200 && res.status < 300;

  // 2. Client input never gets a 5xx.
  if (res.status >= 500) problems.push(`status ${res.status}`);

  // 1. The envelope, the headers every answer carries, and a request id.
  if (res.headers['x-content-type-options'] !== 'nosniff') problems.push('no X-Content-Type-Options: nosniff');
  if ('x-powered-by' in res.headers) problems.push('an X-Powered-By header');
  const rid = res.headers['x-request-id'];
  if (typeof rid !== 'string' || rid === '') problems.push('no X-Request-Id');
  else if (req.sentRequestId !== undefined && !unparseable(req)) {
    const sent = req.sentRequestId;
    if (/^[A-Za-z0-9-]{1,64}$/.test(sent) && rid !== sent) problems.push('a sane X-Request-Id was not echoed');
    if ((sent.length > 200 || /[^\x21-\x7e]/.test(sent)) && rid === sent) problems.push('an insane X-Request-Id was echoed');
  }
  let body: Record<string, unknown> | undefined;
  if (req.method === 'HEAD') {
    if (res.text !== '') problems.push('a body in answer to HEAD');
  } else if (isDocsPath(req.path) && !/^application\/json\b/.test(res.headers['content-type'] ?? '')) {
    // Swagger UI, its assets and the YAML document: only the status is checked.
  } else if (isDocsPath(req.path) && res.status === 200 && res.text.includes('"openapi"')) {
    const doc = JSON.parse(res.text) as { openapi?: unknown; paths?: unknown };
    if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.') || typeof doc.paths !== 'object') {
      problems.push('not an OpenAPI 3 document');
    }
  } else {
    const envelope = envelopeProblems(res);
    problems.push(...envelope.map((p) => `not an envelope: ${p}`));
    if (!envelope.length) body = JSON.parse(res.text) as Record<string, unknown>;
  }
  const tokenError = body?.message === MESSAGES.invalidToken || body?.message === MESSAGES.expired;
  if (tokenError && res.headers['www-authenticate'] !== 'Bearer error="invalid_token"') {
    problems.push('a token error without WWW-Authenticate: Bearer error="invalid_token"');
  }
  if (pathnameOf(req.path).startsWith(`${API}/`) && res.headers['cache-control'] !== 'no-store') {
    problems.push('an auth answer without Cache-Control: no-store');
  }

  // 3. Only a genuine live credential gets a 2xx from a protected route. POST /refresh needs a
  // live refresh token in the body instead: checked against the rows in `exchange`.
  if (ok) {
    // Passkey login options are public, passkey registration options are not: same message, told apart by the route.
    const passkeyLoginOptions = body?.message === PASSKEY_OPTIONS && /\/passkeys\/login\/options\/?$/i.test(pathnameOf(req.path));
    const publicAnswer =
      body !== undefined
        ? PUBLIC_SUCCESSES.has(body.message as string) || passkeyLoginOptions
        : isDocsPath(req.path) || (req.method === 'HEAD' && pathnameOf(req.path) === ROUTES.health);
    if (!publicAnswer && body?.message !== MESSAGES.refreshed && !req.bearer.genuine) problems.push('a 2xx without a genuine live credential');
    if (body?.message === ME) {
      const data = body.data as Record<string, unknown>;
      if (data.id !== state.userA.userId || data.sessionId !== req.bearer.sessionId) {
        problems.push("GET /me answered for another session than the bearer's");
      }
    }
    if (req.method === 'POST' && body?.message === MESSAGES.loggedOut) problems.push(...logoutProblems(req, res, body));
    if (req.method === 'DELETE' && body?.message === MESSAGES.loggedOut) {
      const own = sessionIdInPath(req.path) === req.bearer.sessionId;
      if (res.headers['clear-site-data'] !== (own ? '"storage"' : undefined)) {
        problems.push(`DELETE /sessions/:id of ${own ? 'its own' : 'another'} session with Clear-Site-Data ${clip(String(res.headers['clear-site-data']))}`);
      }
    }
    if (body?.message === MESSAGES.passwordChanged) {
      const { currentPassword, newPassword } = req.bodyObject ?? {};
      if (currentPassword !== state.userA.password) problems.push('the password changed without the right current password');
      if (typeof newPassword !== 'string') problems.push('the password changed to something that is not a string');
      if (!isCount((body.data as { revokedSessions?: unknown } | undefined)?.revokedSessions)) {
        problems.push('a password change without data.revokedSessions');
      }
    }
    if (body?.message === MESSAGES.sessions) problems.push(...sessionListProblems(req, res, body, state));
  }

  // Controls, so that the fuzz cannot pass by refusing everything: a live token, well formed,
  // on the exact route, with no body (and no Content-Type but JSON's), is accepted.
  const exactly = (method: string, path: string) => req.method === method && req.path === path;
  const contentType = req.headers['content-type'];
  const plain =
    req.bearer.genuine &&
    req.bearer.wellFormed &&
    req.body === undefined &&
    (contentType === undefined || /^application\/json\s*(;.*)?$/i.test(contentType)) &&
    (req.sentRequestId?.length ?? 0) < 1000;
  const listPaths = [ROUTES.sessions, `${ROUTES.sessions}?state=live`, `${ROUTES.sessions}?state=ended`];
  if (plain && (exactly('GET', ROUTES.me) || exactly('POST', ROUTES.logout) || listPaths.some((p) => exactly('GET', p))) && res.status !== 200) {
    problems.push(`a live token was refused (${res.status})`);
  }
  // DELETE /sessions/:id on the exact path: 200 for a live session of A's, the one 404 for any
  // other id (B's, an ended one, an unknown one, a malformed one).
  const target = req.sessionPath;
  if (plain && req.method === 'DELETE' && target && req.path === target.exact && target.exact.startsWith(`${ROUTES.sessions}/`) && decodes(target.exact)) {
    const own = target.names !== undefined && state.a.some((s) => s.sessionId === target.names);
    if (own && res.status !== 200) problems.push(`DELETE of a live session of the bearer's user was refused (${res.status})`);
    if (!own && (res.status !== 404 || res.text !== NOT_FOUND_BODY)) {
      problems.push(`DELETE of an id that is not a live session of the bearer's user: ${res.status}, not the one 404`);
    }
  }
  // A plain JSON body on the exact route: a scope does what it says, or is a 400; the right
  // current password changes the password, a wrong one is 401 Credenciales inválidas.
  const json =
    req.bearer.genuine &&
    req.bearer.wellFormed &&
    /^application\/json(; charset=utf-8)?$/i.test(contentType ?? '') &&
    (req.sentRequestId?.length ?? 0) < 1000;
  // Canonical JSON only: no duplicate keys, no escapes in keys, nothing nested too deep.
  const canonical = req.bodyObject !== undefined && req.body?.toString('utf8') === JSON.stringify(req.bodyObject);
  const keys = canonical ? Object.keys(req.bodyObject!).sort().join() : undefined;
  if (json && exactly('POST', ROUTES.logout) && keys === 'scope') {
    const valid = SCOPES.has(req.bodyScope as string);
    if (valid && res.status !== 200) problems.push(`logout with scope ${String(req.bodyScope)} was refused (${res.status})`);
    if (!valid && res.status !== 400) problems.push(`logout with scope ${clip(JSON.stringify(req.bodyScope))}: ${res.status}, not 400`);
  }
  if (json && exactly('POST', ROUTES.password) && keys === 'currentPassword,newPassword') {
    const { currentPassword: current, newPassword: next } = req.bodyObject!;
    if (typeof current === 'string' && current !== '' && current.length <= 128 && typeof next === 'string' && /^[\x20-\x7e]{8,128}$/.test(next)) {
      if (current === state.userA.password && res.status !== 200) problems.push(`the right current password was refused (${res.status})`);
      const badCredentials = res.status === 401 && res.text === BAD_CREDENTIALS_BODY && res.headers['www-authenticate'] === undefined;
      if (current !== state.userA.password && !badCredentials) {
        problems.push(`a wrong current password: ${res.status}, not 401 Credenciales inválidas without WWW-Authenticate`);
      }
    }
  }
  return { problems, body };
}

export const isCount = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;

/** Whether a request target's path percent-decodes. */
export function decodes(target: string): boolean {
  try {
    decodeURIComponent(target.split(/[?#]/)[0]!);
    return true;
  } catch {
    return false;
  }
}

/** A 2xx POST /logout: the body token and scope it accepted, its data, its Clear-Site-Data (the bearer's own session only). */
export function logoutProblems(req: Request, res: Response, body: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (req.bodyHasToken && !req.bodyToken?.live) problems.push('logout accepted a body token that is not a live token of the bearer');
  const scope = req.bodyScope;
  if (req.bodyHasScope && !SCOPES.has(scope as string)) problems.push(`logout accepted scope ${clip(JSON.stringify(scope))}`);
  const wide = scope === 'others' || scope === 'all';
  if (wide && req.bodyHasToken) problems.push(`logout accepted a body token with scope ${scope}`);
  const data = body.data as Record<string, unknown> | undefined;
  const counted = data !== undefined && Object.keys(data).join() === 'revokedSessions' && isCount(data.revokedSessions);
  if (wide && !counted) problems.push(`logout with scope ${scope} without data: { revokedSessions }`);
  if (!wide && data !== undefined) problems.push('logout of one session with data');
  // Only the end of the bearer's own session clears this client's site data, and only its storage.
  const own = scope === 'all' || (!wide && (!req.bodyHasToken || req.bodyToken?.sessionId === req.bearer.sessionId));
  const clearSiteData = res.headers['clear-site-data'];
  if (own && clearSiteData !== '"storage"') problems.push(`logout of the bearer's session with Clear-Site-Data ${clip(String(clearSiteData))}`);
  if (!own && clearSiteData !== undefined) problems.push("logout of other sessions cleared this client's site data");
  return problems;
}

/** A 2xx GET /sessions: the state asked for, the fields of each session, the current flag, no token. */
export function sessionListProblems(req: Request, res: Response, body: Record<string, unknown>, state: FuzzState): string[] {
  const problems: string[] = [];
  const sessions = (body.data as { sessions?: unknown } | undefined)?.sessions;
  if (!Array.isArray(sessions)) return ['GET /sessions without data.sessions'];
  const states = new URLSearchParams(req.path.split('#')[0]!.split('?')[1] ?? '').getAll('state');
  if (!(states.length === 0 || (states.length === 1 && (states[0] === 'live' || states[0] === 'ended')))) {
    problems.push(`GET /sessions answered 2xx to state ${JSON.stringify(states)}`);
  }
  const ended = states[0] === 'ended';
  for (const session of sessions as Array<Record<string, unknown>>) {
    const keys = Object.keys(session ?? {}).sort();
    if (keys.join() !== (ended ? ENDED_KEYS : LIVE_KEYS).join()) problems.push(`a listed session with keys ${keys.join(', ')}`);
    if (session.current !== (!ended && session.id === req.bearer.sessionId)) problems.push('a listed session with the wrong current flag');
    if (ended && !END_REASONS.has(session.endReason as string)) problems.push(`a listed session ended for ${String(session.endReason)}`);
  }
  // A first page (50 by default) lists the newest; only a list that fits in it names them all.
  const paged = (body.data as { nextCursor?: unknown }).nextCursor !== undefined;
  if (!ended && !paged) {
    const listed = new Set(sessions.map((s: { id?: unknown }) => s?.id));
    if (!state.a.every((s) => listed.has(s.sessionId))) problems.push("the live list misses one of A's live sessions");
  }
  const secrets = [...state.a.map((s) => s.token), state.userB.token, ...[...state.chains.values()].flatMap((c) => c.tokens)];
  if (secrets.some((secret) => res.text.includes(secret))) problems.push('a token in the session list');
  return problems;
}
