import type { SessionEndedEvent } from './wire.js';

interface Entry {
  version: number;
  /** Epoch milliseconds. */
  denyUntil: number;
}

/** Below any version the server sends: an event always replaces what an introspection inferred. */
const INFERRED = Number.NEGATIVE_INFINITY;

/** Ended sessions, each refused until its last token has expired. */
export class DenyList {
  private readonly entries = new Map<string, Entry>();

  // graceMs, the clock tolerance: a token is accepted until its `exp` plus it, so its session is refused as long.
  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** An event whose version is not above the stored one changes nothing: a late one never undoes a newer. */
  apply(event: SessionEndedEvent): void {
    const { sessionId, version } = event.data;
    const denyUntil = Date.parse(event.data.denyUntil) + this.graceMs;
    const current = this.entries.get(sessionId);
    if (current && current.version >= version) return;
    if (denyUntil <= this.now()) {
      // Nothing of the session can still be accepted; a stored older entry is moot as well.
      this.entries.delete(sessionId);
      return;
    }
    this.entries.set(sessionId, { version, denyUntil });
  }

  /** The server said a token of the session is not active: refuse the session until `untilMs`. */
  infer(sessionId: string, untilMs: number): void {
    const until = untilMs + this.graceMs;
    const current = this.entries.get(sessionId);
    if (current) current.denyUntil = Math.max(current.denyUntil, until);
    else if (until > this.now()) this.entries.set(sessionId, { version: INFERRED, denyUntil: until });
  }

  denies(sessionId: string): boolean {
    const entry = this.entries.get(sessionId);
    return entry !== undefined && this.now() < entry.denyUntil;
  }

  sweep(): void {
    const now = this.now();
    for (const [sessionId, entry] of this.entries) if (entry.denyUntil <= now) this.entries.delete(sessionId);
  }

  clear(): void {
    this.entries.clear();
  }
}
