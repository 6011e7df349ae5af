import Bowser from 'bowser';

/** What a person recognises a session by; null where the user agent does not say. */
export interface Device {
  browser: string | null;
  os: string | null;
  type: string | null;
}

const UNKNOWN: Device = { browser: null, os: null, type: null };

/** Parsed with bowser (MIT); a user agent it cannot read is all nulls, never an error. */
export function deviceOf(userAgent: string | null): Device {
  if (!userAgent) return UNKNOWN;
  try {
    const parsed = Bowser.parse(userAgent);
    return { browser: parsed.browser.name || null, os: parsed.os.name || null, type: parsed.platform.type || null };
  } catch {
    return UNKNOWN;
  }
}
