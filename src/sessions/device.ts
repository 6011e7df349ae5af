import Bowser from 'bowser';

export interface Device {
  browser: string | null;
  os: string | null;
  type: string | null;
}

const UNKNOWN: Device = { browser: null, os: null, type: null };

/** A user agent bowser cannot read is all nulls, never an error. */
export function deviceOf(userAgent: string | null): Device {
  if (!userAgent) return UNKNOWN;
  try {
    const parsed = Bowser.parse(userAgent);
    return { browser: parsed.browser.name || null, os: parsed.os.name || null, type: parsed.platform.type || null };
  } catch {
    return UNKNOWN;
  }
}
