// One side of a race stopped at the point that matters: the next call of a method waits at its
// start until the test releases it.

export interface Held {
  /** Resolves once the call has been made (and is waiting). */
  reached: Promise<void>;
  /** Lets the call go on. */
  release: () => void;
}

/** Holds the next call of `object[method]` (only that one) at its start, until released. */
export function holdNextCall<T extends object>(object: T, method: keyof T & string): Held {
  const original = object[method] as (...args: unknown[]) => Promise<unknown>;
  let reach!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  (object as Record<string, unknown>)[method] = async function (this: unknown, ...args: unknown[]) {
    (object as Record<string, unknown>)[method] = original;
    reach();
    await released;
    return original.apply(this, args);
  };
  return { reached, release };
}
