export const MAX_TOKEN_LENGTH = 4096;

// `Bearer <token68>`: scheme case-insensitive (RFC 7235), nothing after the token.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function bearerToken(request: { headers: Record<string, string | string[] | undefined> }): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || header.length > MAX_TOKEN_LENGTH + 16) return null;
  const token = BEARER.exec(header)?.[1];
  return token && token.length <= MAX_TOKEN_LENGTH ? token : null;
}
