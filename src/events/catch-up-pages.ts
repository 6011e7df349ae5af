import type { SessionEndedEvent } from './session-events.repository.js';

export interface CatchUpPage {
  /** Encoded once, not again for every stream it is written to. */
  bytes: Buffer;
  last: bigint;
  full: boolean;
}

const KEPT_PAGES = 8;
const KEPT_MS = 5000;

/** Full pages only are shared: ids are taken in commit order, so nothing can commit below a full page's last id. */
export class CatchUpPages {
  private readonly kept = new Map<string, { page: Promise<CatchUpPage>; at: number }>();

  constructor(
    private readonly size: number,
    private readonly read: (denying: boolean, after: bigint, limit: number) => Promise<SessionEndedEvent[]>,
    private readonly frame: (event: SessionEndedEvent) => string,
  ) {}

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
