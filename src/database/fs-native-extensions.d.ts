// The part of fs-native-extensions we use; the package ships no types.
declare module 'fs-native-extensions' {
  /** Locks the whole file (exclusive unless `shared`) without waiting: false when another holds it. */
  export function tryLock(fd: number, opts?: { shared?: boolean }): boolean;
}
