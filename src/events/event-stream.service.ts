import type { ServerResponse } from 'node:http';
import { type BeforeApplicationShutdown, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Database } from '../database/database.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { CatchUpPages } from './catch-up-pages.js';
import { SESSION_EVENTS_CHANNEL } from '../sessions/session-ended-events.js';
import { type SessionEndedEvent, SessionEventsRepository } from './session-events.repository.js';

/** What tells silence from quiet. */
export const HEARTBEAT_MS = 250;
/** NOTIFY makes a read immediate on PostgreSQL; the embedded database has no connection to spare for LISTEN, so there the poll delivers. */
const POLL_MS = { notified: HEARTBEAT_MS, embedded: 50 };
const PAGE = 500;
/** Cut off past this much unread; it resumes with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 1 << 20;
const RELISTEN_MS = 1000;

interface Listener {
  response: ServerResponse;
  sent: bigint;
  waiting: SessionEndedEvent[] | null;
}

function drained(response: ServerResponse): Promise<void> {
  if (!response.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

const frame = (event: SessionEndedEvent) => `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;

/** One read of the feed per instance for all its listeners, woken by NOTIFY or the poll. */
@Injectable()
export class EventStreamService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(EventStreamService.name);
  private readonly listeners = new Set<Listener>();
  private newest = 0n;
  private started: Promise<void> | undefined;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private poll: NodeJS.Timeout | undefined;
  private unlisten: (() => void) | undefined;
  private relisten: NodeJS.Timeout | undefined;
  private lastHeartbeat = 0;
  private readonly catchUp: CatchUpPages;
  private stopped = false;

  constructor(
    private readonly events: SessionEventsRepository,
    private readonly database: Database,
    private readonly metrics: MetricsService,
  ) {
    this.catchUp = new CatchUpPages(
      PAGE,
      (denying, after, limit) => (denying ? this.events.denying(after, limit) : this.events.after(after, limit)),
      frame,
    );
  }

  onApplicationBootstrap(): void {
    if (this.database.notifies) void this.listenForCommits();
  }

  /** Open streams would hold the server open; listeners resume elsewhere. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.relisten);
    this.unlisten?.();
    for (const listener of this.listeners) listener.response.end();
  }

  async attach(response: ServerResponse, lastEventId: bigint | undefined): Promise<void> {
    const listener: Listener = { response, sent: 0n, waiting: [] };
    // Listening (its live events wait) before its catch-up is read: nothing falls between.
    this.listeners.add(listener);
    this.metrics.eventStreamListeners(1);
    response.on('close', () => this.detach(listener));
    // What the first heartbeat vouches for: everything committed before the catch-up began.
    const catchUpFrom = Date.now();
    try {
      await (this.started ??= this.start().catch((err: unknown) => {
        this.started = undefined;
        throw err;
      }));
      // A page at a time: a stream holds one page, and a slow reader is never cut off for its own catch-up.
      for (listener.sent = lastEventId ?? 0n; ; ) {
        const page = await this.catchUp.after(lastEventId === undefined, listener.sent);
        if (page.last > listener.sent) {
          listener.sent = page.last;
          this.send(listener, page.bytes);
        }
        await drained(response);
        if (!this.listeners.has(listener)) return;
        if (!page.full) break;
      }
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'Could not read the session events for a stream; closing it');
      response.end();
      return;
    }
    const waiting = listener.waiting ?? [];
    listener.waiting = null;
    this.deliver(listener, waiting);
    this.heartbeat(listener, Date.now() - catchUpFrom);
  }

  private async start(): Promise<void> {
    this.newest = await this.events.lastId();
    clearInterval(this.poll);
    this.poll = setInterval(() => this.read(), this.database.notifies ? POLL_MS.notified : POLL_MS.embedded);
    this.poll.unref();
  }

  private detach(listener: Listener): void {
    if (!this.listeners.delete(listener)) return;
    this.metrics.eventStreamListeners(-1);
    if (this.listeners.size > 0) return;
    clearInterval(this.poll);
    this.started = undefined;
  }

  /** A call during a read makes one more after it. */
  private read(): void {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = this.readNew()
      .catch((err: unknown) => this.logger.warn({ err: String(err) }, 'Could not read the session events; trying again'))
      .finally(() => {
        this.reading = undefined;
        if (this.readAgain && !this.stopped) {
          this.readAgain = false;
          this.read();
        }
      });
  }

  private async readNew(): Promise<void> {
    if (this.listeners.size === 0) return;
    const started = Date.now();
    let page: SessionEndedEvent[];
    do {
      page = await this.events.after(this.newest, PAGE);
      if (page.length > 0) this.newest = BigInt(page.at(-1)!.id);
      for (const listener of this.listeners) this.broadcast(listener, page);
    } while (page.length === PAGE);
    // Everything committed before `started` has been written: a heartbeat may say so.
    const now = Date.now();
    if (now - this.lastHeartbeat < HEARTBEAT_MS - POLL_MS.embedded) return;
    this.lastHeartbeat = now;
    for (const listener of this.listeners) if (!listener.waiting) this.heartbeat(listener, now - started);
  }

  private broadcast(listener: Listener, events: SessionEndedEvent[]): void {
    if (listener.waiting) listener.waiting.push(...events);
    else this.deliver(listener, events);
  }

  private deliver(listener: Listener, events: SessionEndedEvent[]): void {
    const unsent = events.filter((event) => BigInt(event.id) > listener.sent);
    if (unsent.length === 0) return;
    listener.sent = BigInt(unsent.at(-1)!.id);
    this.send(listener, unsent.map(frame).join(''));
  }

  private heartbeat(listener: Listener, lagMs: number): void {
    this.send(listener, `event: heartbeat\ndata: ${JSON.stringify({ time: new Date().toISOString(), lagMs })}\n\n`);
  }

  private send(listener: Listener, text: string | Buffer): void {
    if (listener.response.writableLength > MAX_BUFFERED_BYTES) {
      listener.response.destroy();
      return;
    }
    listener.response.write(text);
  }

  /** Lost, it listens again a second later; the poll covers the gap. */
  private async listenForCommits(): Promise<void> {
    if (this.stopped) return;
    const again = () => {
      if (!this.stopped) this.relisten = setTimeout(() => void this.listenForCommits(), RELISTEN_MS).unref();
    };
    try {
      this.unlisten = await this.database.listen(SESSION_EVENTS_CHANNEL, () => this.read(), (err) => {
        this.logger.warn({ err: String(err) }, 'Lost the connection listening for session events; listening again');
        again();
      });
      if (this.stopped) this.unlisten();
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'Could not listen for session events; polling until it can');
      again();
    }
  }
}
