import type { TestApp } from '../support/app.js';
import { claimsFor, signToken } from '../support/tokens.js';
import { type LoggedIn, loginWithRefresh } from '../support/users.js';
import {
  expiredClaimsFor,
  handSigned,
  HS256,
  nowSeconds,
  OTHER_SECRET,
  unsignedToken,
  withoutExp,
} from '../support/tokens.js';
import type { Forgery, Holder, TokenMutation } from './recipes.js';

// What the fuzz knows of its users, sessions and tokens, and how it derives tokens the server never issued.

export const TOKEN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export interface Session {
  token: string;
  sessionId: string;
}
export interface TokenInfo {
  /** Genuine (right secret, claims, not expired, at most 4096 characters) and its session live. */
  live: boolean;
  sessionId?: string;
}
/** A tracked session's refresh tokens, oldest first: the last one is its current one. */
export interface Chain {
  tokens: string[];
  /** When the last rotation happened, as seen from here: between `sent` and `received` (ms). */
  rotated?: { sent: number; received: number };
}
/** What the test knows of a refresh token it sends. */
export interface RefreshInfo {
  /**
   * Of a tracked live session: its current token, the one it replaced, or an older one. `other`:
   * nothing the server issued for a live session (made up, of an ended session, an access token),
   * which may change nothing.
   */
  kind: 'current' | 'previous' | 'ancestor' | 'other';
  sessionId?: string;
}

/** Keeps the last `max` items. */
export const keepLast = <T>(list: T[], items: T[], max: number) => {
  list.push(...items);
  list.splice(0, Math.max(0, list.length - max));
};

export class FuzzState {
  /** A's two tracked live sessions; replaced by a fresh login when the fuzz ends one. */
  a: [Session, Session];
  /** Access tokens, refresh tokens and ids of A's sessions that have ended. */
  dead: string[] = [];
  deadRefresh: string[] = [];
  deadSessions: string[] = [];
  /** The refresh tokens of every tracked session (A's two and B's), by session id. */
  readonly chains = new Map<string, Chain>();

  constructor(
    private readonly t: TestApp,
    /** `password` follows the fuzz's password changes. */
    readonly userA: LoggedIn,
    a0Refresh: string,
    a1: Session & { refreshToken: string },
    /** Never a bearer: its session must outlive the fuzz. */
    public userB: LoggedIn,
    bRefresh: string,
  ) {
    this.a = [{ token: userA.token, sessionId: userA.sessionId }, { token: a1.token, sessionId: a1.sessionId }];
    this.chains.set(userA.sessionId, { tokens: [a0Refresh] });
    this.chains.set(a1.sessionId, { tokens: [a1.refreshToken] });
    this.chains.set(userB.sessionId, { tokens: [bRefresh] });
  }

  holder(h: Holder): { userId: string; sessionId: string; token: string } {
    if (h === 'B') return this.userB;
    const session = this.a[h === 'A0' ? 0 : 1];
    return { userId: this.userA.userId, ...session };
  }

  chain(h: Holder): Chain {
    return this.chains.get(this.holder(h).sessionId)!;
  }

  /** Every refresh token of a tracked session: none of them may come out of a mutation. */
  isTrackedRefreshToken(token: string): boolean {
    return [...this.chains.values()].some((c) => c.tokens.includes(token));
  }

  private async login(user: { email: string; password: string }): Promise<Session> {
    const { token, sessionId, refreshToken } = await loginWithRefresh(this.t, user.email, user.password).catch((err: Error) => {
      throw new Error(`the fuzz could not log in again with the password it knows (${JSON.stringify(user.password)}): ${err.message}`);
    });
    this.chains.set(sessionId, { tokens: [refreshToken] });
    return { token, sessionId };
  }

  /** After a failure: B logs in again, so that the next requests (and shrinking) are judged afresh. */
  async replaceB(): Promise<void> {
    this.chains.delete(this.userB.sessionId);
    this.userB = { ...this.userB, ...(await this.login(this.userB)) };
  }

  /**
   * Replaces A's session `index`, which has just ended; or, after a failure left it in a state the
   * test does not know (`ended` false), leaves it be, untracked.
   */
  async replace(index: 0 | 1, ended = true): Promise<void> {
    const { token, sessionId } = this.a[index];
    if (ended) {
      keepLast(this.dead, [token], 20);
      keepLast(this.deadRefresh, this.chains.get(sessionId)?.tokens ?? [], 40);
      keepLast(this.deadSessions, [sessionId], 20);
    }
    this.chains.delete(sessionId);
    this.a[index] = await this.login(this.userA);
  }
}

export function mutateToken(token: string, how: TokenMutation): string {
  if ('flip' in how) {
    const parts = token.split('.');
    const part = parts[how.flip];
    // Not the signature's last character: its low bits are padding, and some decoders ignore them.
    const span = how.flip === 2 ? part.length - 1 : part.length;
    const at = how.at % span;
    const next = TOKEN_CHARS[(TOKEN_CHARS.indexOf(part[at]) + 1 + (how.to % (TOKEN_CHARS.length - 1))) % TOKEN_CHARS.length];
    parts[how.flip] = part.slice(0, at) + next + part.slice(at + 1);
    return parts.join('.');
  }
  if ('truncate' in how) return token.slice(0, -Math.min(how.truncate, token.length - 1));
  if ('append' in how) return token + how.append;
  return token
    .split('.')
    .filter((_, i) => i !== how.dropPart)
    .join('.');
}

export function forge(forgery: Forgery, user: { userId: string; sessionId: string }, other: { userId: string; sessionId: string }): string {
  const claims = claimsFor(user);
  switch (forgery) {
    case 'wrong-secret':
      return signToken(claims, { secret: OTHER_SECRET });
    case 'alg-none':
      return unsignedToken(claims);
    case 'alg-None-hs256-signature':
      return handSigned({ alg: 'None', typ: 'JWT' }, claims);
    case 'hs512':
      return signToken(claims, { algorithm: 'HS512' });
    case 'expired':
      return signToken(expiredClaimsFor(user));
    case 'no-exp':
      return handSigned(HS256, withoutExp(claims));
    case 'exp-as-string':
      return handSigned(HS256, { ...claims, exp: String(claims.exp) });
    case 'nbf-future':
      return signToken(claimsFor(user, { nbf: nowSeconds() + 3600 }));
    case 'wrong-issuer':
      return signToken(claimsFor(user, { iss: 'someone-else' }));
    case 'wrong-audience':
      return signToken(claimsFor(user, { aud: 'other-clients' }));
    case 'sub-and-sid-of-different-users':
      return signToken(claimsFor({ userId: user.userId, sessionId: other.sessionId }));
  }
}
