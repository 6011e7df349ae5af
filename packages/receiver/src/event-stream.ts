import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { endpoint, type ResolvedOptions } from './options.js';
import type { Heartbeat, SessionEndedEvent } from './wire.js';
import { isAfter, parseEvent, parseFeedPage, parseHeartbeat, parseJson, ProtocolError } from './wire-parse.js';

export interface StreamListener {
  ended(event: SessionEndedEvent): void;
  /** `receivedAt` on the monotonic clock (`performance.now()`). */
  heartbeat(heartbeat: Heartbeat, receivedAt: number): void;
}

const FEED_LIMIT = 1000;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 2000;
/** Far above any event or heartbeat: a stream sending more is not the auth server's. */
const MAX_MESSAGE_CHARS = 1 << 20;

/** Reconnects when the stream ends, fails or falls silent, after catching up from the feed. */
export class EventStream {
  /** The last event applied: where a reconnection resumes. */
  cursor: string | null = null;
  connected = false;
  reconnects = 0;
  private stopped = false;
  private attempt: AbortController | undefined;
  /** Set while the stream itself is being read; the feed has its own timeouts. */
  private streaming = false;
  private lastActivity = 0;
  private failures = 0;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private sleeping: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly listener: StreamListener,
  ) {}

  start(): void {
    if (this.running || this.stopped) return;
    const { stalenessMs } = this.options;
    // A stream quiet for longer than the bound is presumed broken: nothing would tell us otherwise.
    this.watchdog = setInterval(() => {
      if (this.streaming && performance.now() - this.lastActivity > stalenessMs) this.attempt?.abort(new Error('The stream fell silent'));
    }, Math.max(10, Math.min(250, stalenessMs / 4)));
    this.watchdog.unref();
    this.running = this.run();
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    this.attempt?.abort(new Error('Receiver closed'));
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.wake();
    }
    await this.running;
  }

  private async run(): Promise<void> {
    for (let first = true; !this.stopped; first = false) {
      if (!first) {
        this.reconnects++;
        await this.backoff();
        if (this.stopped) break;
      }
      const attempt = new AbortController();
      this.attempt = attempt;
      try {
        await this.catchUp(attempt.signal);
        await this.stream(attempt.signal);
      } catch (err) {
        if (!this.stopped) this.options.logger.warn('Event stream interrupted; reconnecting', { error: String(attempt.signal.reason ?? err) });
      } finally {
        this.connected = false;
        this.streaming = false;
        this.attempt = undefined;
      }
    }
  }

  /** Exponential from ~100 ms to ~2 s with jitter, so that receivers do not reconnect in step. */
  private backoff(): Promise<void> {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.failures++);
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeping = undefined;
        resolve();
      }, delay);
      this.sleeping = { timer, wake: resolve };
    });
  }

  /** Pages the feed after the cursor until a short page, before the stream resumes. */
  private async catchUp(signal: AbortSignal): Promise<void> {
    for (let cursor = this.cursor; cursor !== null; cursor = this.cursor) {
      const url = endpoint(this.options.eventsUrl, 'api/v1/events');
      url.searchParams.set('after', cursor);
      url.searchParams.set('limit', String(FEED_LIMIT));
      const body = await this.getJson(url, signal);
      const page = parseFeedPage(body);
      for (const item of page.events) this.apply(item);
      if (page.cursor !== null) this.advance(page.cursor);
      if (page.events.length < FEED_LIMIT || this.cursor === cursor) return;
    }
  }

  private async getJson(url: URL, signal: AbortSignal): Promise<unknown> {
    const { fetch, authorization, requestTimeoutMs } = this.options;
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const response = await fetch(url, { headers: { authorization, accept: 'application/json' }, signal: AbortSignal.any([signal, timeout]) });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`The feed answered ${response.status}`);
    }
    return response.json();
  }

  private async stream(signal: AbortSignal): Promise<void> {
    const { fetch, authorization, logger } = this.options;
    const headers: Record<string, string> = { authorization, accept: 'text/event-stream', 'cache-control': 'no-store' };
    if (this.cursor !== null) headers['last-event-id'] = this.cursor;
    this.lastActivity = performance.now();
    this.streaming = true;
    const response = await fetch(endpoint(this.options.eventsUrl, 'api/v1/events/stream'), { headers, signal });
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      if (response.status === 401) logger.warn("The auth server refused the receiver's client credentials (event stream)");
      throw new Error(`The event stream answered ${response.status}`);
    }
    this.connected = true;
    logger.info('Event stream connected', { cursor: this.cursor });
    const parser = createParser({
      maxBufferSize: MAX_MESSAGE_CHARS,
      onEvent: (message) => this.message(message),
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') throw new ProtocolError(error.message);
      },
      onComment: () => {
        this.lastActivity = performance.now();
      },
    });
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        // Throws on a message it cannot read (or too long): the stream is dropped and replayed, never skipped.
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    throw new Error('The event stream ended');
  }

  private message(message: EventSourceMessage): void {
    const receivedAt = performance.now();
    this.lastActivity = receivedAt;
    if (message.event === 'heartbeat') {
      this.listener.heartbeat(parseHeartbeat(parseJson(message.data)), receivedAt);
      // A heartbeat on this connection: it works, the next break starts the backoff over.
      this.failures = 0;
      return;
    }
    // Other types (a newer server's) only move the cursor.
    if (message.event === 'session.ended') this.apply(parseJson(message.data));
    if (message.id) this.advance(message.id);
  }

  /** Applies before moving the cursor: a cursor never passes an event not applied. */
  private apply(value: unknown): void {
    const event = parseEvent(value);
    if (event) this.listener.ended(event);
    this.advance((value as { id: string }).id);
  }

  private advance(id: string): void {
    if (this.cursor === null || isAfter(id, this.cursor)) this.cursor = id;
  }
}
