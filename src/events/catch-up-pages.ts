import type { SessionEndedEvent } from './session-events.repository.js';

/** A page of a stream's catch-up, as written: its events framed, and the id of its last. */
export interface CatchUpPage {
  /** Encoded once: a string would be encoded again for every stream it is written to. */
  bytes: Buffer;
  last: bigint;
  /** A full page: more may follow. */
  full: boolean;
}

/** How many pages are kept for streams that ask for the same page a little later, and for how long. */
const KEPT_PAGES = 8;
const KEPT_MS = 5000;

/**
 * The catch-up's pages, read from the database and framed once for every stream that asks for the
 * same page at about the same time: fifty streams resuming from one point would otherwise each read
 * and frame the whole backlog, and the garbage of that, not any page held, is what raised the
 * server's memory. Only full pages are shared: later commits can only come after a full page's last
 * id (ids are taken in commit order), so a stream that attached after the page was read misses
 * nothing by it. A short page (the end of the backlog) is read by each stream itself, after it
 * attached, as before.
 */
export class CatchUpPages {
  private readonly kept = new Map<string, { page: Promise<CatchUpPage>; at: number }>();

  constructor(
    private readonly size: number,
    private readonly read: (denying: boolean, after: bigint, limit: number) => Promise<SessionEndedEvent[]>,
    private readonly frame: (event: SessionEndedEvent) => string,
  ) {}

  /** The page after `after`: of every kept event, or (`denying`) of those whose tokens may still be alive. */
  async after(denying: boolean, after: bigint): Promise<CatchUpPage> {
    const key = `${denying}:${after}`;
    const shared = this.kept.get(key);
    if (shared && Date.now() - shared.at < KEPT_MS) {
      const page = await shared.page.catch(() => undefined);
      if (page?.full) return page;
    }
    const page = this.load(denying, after);
    const entry = { page, at: Date.now() };
    this.kept.delete(key);
    this.kept.set(key, entry);
    // A Map iterates in insertion order: the first key is the oldest.
    if (this.kept.size > KEPT_PAGES) this.kept.delete(this.kept.keys().next().value!);
    const forget = () => this.kept.get(key) === entry && this.kept.delete(key);
    try {
      const read = await page;
      if (!read.full) forget();
      return read;
    } catch (err) {
      forget();
      throw err;
    }
  }

  private async load(denying: boolean, after: bigint): Promise<CatchUpPage> {
    const events = await this.read(denying, after, this.size);
    return {
      bytes: Buffer.from(events.map(this.frame).join('')),
      last: events.length > 0 ? BigInt(events.at(-1)!.id) : after,
      full: events.length === this.size,
    };
  }
}
