import { endpoint, type ResolvedOptions } from './options.js';
import type { Introspection } from './wire.js';

/** The server's answer, or `unavailable` when there was none to trust. */
export type IntrospectionAnswer = Introspection | 'unavailable';

interface Asked {
  answer: Promise<IntrospectionAnswer>;
  sentAt: number;
}

// A request is shared only if sent within `stalenessMs`: an older one may predate a logout that must be refused.
export class IntrospectionClient {
  private readonly inFlight = new Map<string, Asked>();
  private readonly closing = new AbortController();
  requests = 0;

  constructor(private readonly options: ResolvedOptions) {}

  introspect(token: string): Promise<IntrospectionAnswer> {
    const now = performance.now();
    const pending = this.inFlight.get(token);
    if (pending && now - pending.sentAt <= this.options.stalenessMs) return pending.answer;
    const asked: Asked = { sentAt: now, answer: this.ask(token) };
    // Only the newest request for a token is joined; an older one ends without touching it.
    void asked.answer.finally(() => this.inFlight.get(token) === asked && this.inFlight.delete(token));
    this.inFlight.set(token, asked);
    return asked.answer;
  }

  /** Ends the requests under way: they answer `unavailable`. */
  close(): void {
    this.closing.abort();
  }

  private async ask(token: string): Promise<IntrospectionAnswer> {
    const { fetch, authorization, requestTimeoutMs, logger } = this.options;
    if (this.closing.signal.aborted) return 'unavailable';
    this.requests++;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), requestTimeoutMs);
    try {
      const response = await fetch(endpoint(this.options.url, 'api/v1/auth/introspect'), {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ token }),
        signal: AbortSignal.any([timeout.signal, this.closing.signal]),
      });
      const body: unknown = await response.json().catch(() => undefined);
      if (response.status === 401) logger.warn('The auth server refused the receiver\'s client credentials (introspection)');
      if (response.status !== 200) return 'unavailable';
      return parse(body) ?? 'unavailable';
    } catch (err) {
      if (!this.closing.signal.aborted) logger.warn('Introspection failed', { error: String(err) });
      return 'unavailable';
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Only `active: true` with its claims counts as active; anything else malformed is no answer. */
function parse(body: unknown): Introspection | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const answer = body as Record<string, unknown>;
  if (answer.active === false) return { active: false };
  if (answer.active !== true || typeof answer.sid !== 'string' || typeof answer.sub !== 'string') return undefined;
  if (answer.token_type !== undefined && answer.token_type !== 'access_token') return undefined;
  return answer as unknown as Introspection;
}
