/**
 * Tokens whose signature and claims already verified, by their exact text: a client sends the same
 * access token for its whole life, and the HMAC or Ed25519 check is the costliest step of a request
 * after the session lookup, which is never skipped. Expiry is checked by the caller on every use;
 * the oldest entry goes first once `max` are kept.
 */
export class VerifiedTokens {
  private readonly claims = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(private readonly max = 10_000) {}

  get size(): number {
    return this.claims.size;
  }

  get(token: string): Readonly<Record<string, unknown>> | undefined {
    return this.claims.get(token);
  }

  remember(token: string, claims: Record<string, unknown>): Readonly<Record<string, unknown>> {
    if (this.claims.size >= this.max) this.claims.delete(this.claims.keys().next().value!);
    const frozen = Object.freeze(claims);
    this.claims.set(token, frozen);
    return frozen;
  }
}
