/**
 * No body of this API nests: anything deeper than this is refused before JSON.parse, so that
 * nothing recursive (the parser's poisoning scan, class-transformer, class-validator) can
 * overflow the stack on a small body of `[[[[…`.
 */
export const MAX_JSON_DEPTH = 16;

/** Whether `text` opens more than `max` arrays or objects inside one another: one pass, no recursion. */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

// Decoded UTF-8 holds no lone surrogates: only a `\uD800`-style escape can make one.
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Whether a parsed body (depth already bounded) holds a string, value or key, that is not
 * well-formed Unicode. Such strings collapse to U+FFFD when encoded, so two different passwords
 * would hash alike, and some validators throw on them.
 */
export function hasLoneSurrogate(text: string, value: unknown): boolean {
  return SURROGATE_ESCAPE.test(text) && !wellFormed(value);
}

function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed();
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(wellFormed);
  return Object.entries(value).every(([key, item]) => key.isWellFormed() && wellFormed(item));
}
