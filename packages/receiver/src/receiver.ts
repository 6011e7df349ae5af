import { DenyList } from './deny-list.js';
import { EventStream } from './event-stream.js';
import { IntrospectionClient } from './introspection.client.js';
import { metricsText, type ReceiverMetrics } from './metrics.js';
import { resolveOptions, type ReceiverOptions, type ResolvedOptions } from './options.js';
import { bearerToken, REFUSAL_REASONS, type ReceiverClaims, type RefusalReason, type Refused, type VerifyResult } from './result.js';
import { TokenVerifier } from './token.verifier.js';
import type { Heartbeat, SessionEndedEvent } from './wire.js';

/** Forgetting expired entries is only about memory: lookups check `denyUntil` themselves. */
const SWEEP_INTERVAL_MS = 10_000;

/** Accepts a token locally only while it has heard every session end within `stalenessMs`; else asks or refuses. */
export class Receiver {
  private readonly options: ResolvedOptions;
  private readonly tokens: TokenVerifier;
  private readonly introspection: IntrospectionClient;
  private readonly denyList: DenyList;
  private readonly stream: EventStream;
  /** On the monotonic clock: every end committed on the server before this was received. */
  private lastHeard: number | undefined;
  private lastEventLagMs: number | null = null;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private starting: Promise<void> | undefined;
  private heard: (() => void) | undefined;
  private closed = false;
  private readonly accepted = { local: 0, introspection: 0 };
  private readonly refusals = Object.fromEntries(REFUSAL_REASONS.map((reason) => [reason, 0])) as Record<RefusalReason, number>;

  constructor(options: ReceiverOptions) {
    this.options = resolveOptions(options);
    this.tokens = new TokenVerifier(this.options);
    this.introspection = new IntrospectionClient(this.options);
    this.denyList = new DenyList(this.options.clockToleranceSeconds * 1000);
    this.stream = new EventStream(this.options, {
      ended: (event) => this.ended(event),
      heartbeat: (heartbeat, receivedAt) => this.heartbeat(heartbeat, receivedAt),
    });
  }

  /** Resolves on the first heartbeat, or after `startTimeoutMs` (stale until one comes); never rejects. */
  start(): Promise<void> {
    this.starting ??= this.begin();
    return this.starting;
  }

  /** Stops the stream and every timer; requests under way end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.heard?.();
    this.introspection.close();
    await this.stream.close();
  }

  /** Whether tokens would now be introspected or refused instead of accepted locally. */
  get stale(): boolean {
    const { lastHeard } = this;
    return !this.stream.connected || lastHeard === undefined || performance.now() - lastHeard > this.options.stalenessMs;
  }

  async verify(token: string): Promise<VerifyResult> {
    // A bad signature or an expired token is refused here, before any request to the server.
    const local = await this.tokens.verify(token);
    if (!local.ok) return this.refuse(local.reason);
    const { claims } = local;
    if (this.denyList.denies(claims.sid)) return this.refuse('ended');
    if (!this.stale) return this.accept(claims, 'local');
    if (this.options.whenStale === 'refuse') return this.refuse('stale');

    const answer = await this.introspection.introspect(token);
    if (answer === 'unavailable') return this.refuse('unavailable');
    if (!answer.active) {
      this.denyList.infer(claims.sid, claims.exp * 1000);
      return this.refuse('ended');
    }
    if (answer.sid !== claims.sid || answer.sub !== claims.sub) {
      this.options.logger.warn('Introspection described another token than the one verified');
      return this.refuse('unavailable');
    }
    // An end heard while the question was out wins.
    if (this.denyList.denies(claims.sid)) return this.refuse('ended');
    return this.accept(claims, 'introspection');
  }

  /** `verify` of an `Authorization: Bearer <token>` header; anything else is `invalid`. */
  authenticate(authorization: string | undefined): Promise<VerifyResult> {
    const token = bearerToken(authorization);
    return token === undefined ? Promise.resolve(this.refuse('invalid')) : this.verify(token);
  }

  metrics(): ReceiverMetrics {
    this.denyList.sweep();
    const now = performance.now();
    return {
      connected: this.stream.connected,
      stale: this.stale,
      lastHeardMsAgo: this.lastHeard === undefined ? null : Math.round(now - this.lastHeard),
      lastEventLagMs: this.lastEventLagMs,
      deniedSessions: this.denyList.size,
      cursor: this.stream.cursor,
      reconnects: this.stream.reconnects,
      introspections: this.introspection.requests,
      accepted: { ...this.accepted },
      refusals: { ...this.refusals },
    };
  }

  metricsText(): string {
    return metricsText(this.metrics());
  }

  private async begin(): Promise<void> {
    if (this.closed) return;
    this.sweeper = setInterval(() => this.denyList.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    const firstHeartbeat = new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.heard?.(), this.options.startTimeoutMs);
      this.heard = () => {
        clearTimeout(timer);
        this.heard = undefined;
        resolve();
      };
    });
    this.stream.start();
    try {
      await this.tokens.load();
    } catch (err) {
      // Verification fetches the set again when it needs it.
      this.options.logger.warn('The auth server key set could not be loaded', { error: String(err) });
    }
    await firstHeartbeat;
    if (this.stale && !this.closed) this.options.logger.warn('Receiver started without a heartbeat: stale until one comes');
  }

  private ended(event: SessionEndedEvent): void {
    this.denyList.apply(event);
    const timestamp = Date.parse(event.timestamp);
    if (!Number.isNaN(timestamp)) this.lastEventLagMs = Date.now() - timestamp;
  }

  private heartbeat(heartbeat: Heartbeat, receivedAt: number): void {
    // What the server had read `lagMs` before it sent this is all here now.
    this.lastHeard = receivedAt - Math.max(0, heartbeat.lagMs);
    this.heard?.();
  }

  private accept(claims: ReceiverClaims, via: 'local' | 'introspection'): VerifyResult {
    this.accepted[via]++;
    return { ok: true, claims, via };
  }

  private refuse(reason: RefusalReason): Refused {
    this.refusals[reason]++;
    return { ok: false, reason };
  }
}

export function createReceiver(options: ReceiverOptions): Receiver {
  return new Receiver(options);
}
