// Tabs of one origin share a cookie-mode session: the others hear what one learns, one refreshes at a time.

export type TabMessage = { type: 'tokens'; accessToken: string; expiresAt: number } | { type: 'signed-out' };

export interface Tabs {
  /** Runs `fn` while no other tab of this origin runs it (Web Locks), or at once where there are none. */
  exclusively<T>(fn: () => Promise<T>): Promise<T>;
  tell(message: TabMessage): void;
  close(): void;
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export function openTabs(name: string, onMessage: (message: TabMessage) => void): Tabs {
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : undefined;
  // Node keeps a process alive while a channel is open; a test suite's client must not.
  (channel as { unref?: () => void } | undefined)?.unref?.();
  if (channel) channel.onmessage = (event: { data: TabMessage }) => onMessage(event.data);
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  return {
    exclusively: (fn) => (locks ? holdingOn(locks, `${name}:refresh`, fn) : fn()),
    tell: (message) => channel?.postMessage(message),
    close: () => channel?.close(),
  };
}

/** The lock outlives `fn` this long, so that the next tab granted it has heard the tokens this one told. */
const HOLD_MS = 100;

function holdingOn<T>(locks: LockManagerLike, name: string, fn: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    locks
      .request(name, async () => {
        await fn().then(resolve, reject);
        await new Promise((done) => setTimeout(done, HOLD_MS));
      })
      .catch(reject);
  });
}

/** For bearer mode, whose sessions belong to one page (or one client object in Node). */
export const NO_TABS: Tabs = { exclusively: (fn) => fn(), tell: () => undefined, close: () => undefined };
