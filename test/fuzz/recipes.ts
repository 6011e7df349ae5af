import fc from 'fast-check';

// Recipes: what the generators produce. Plain data, so that counterexamples print and shrink
// well; tokens and users are filled in when a recipe is sent, from the state of that moment.



// ---------------------------------------------------------------------------------------------
// Recipes: what the generators produce. Plain data, so that counterexamples print and shrink
// well; tokens and users are filled in when a recipe is sent, from the state of that moment.
// ---------------------------------------------------------------------------------------------

/** A's two tracked live sessions, and B's. */
export type Holder = 'A0' | 'A1' | 'B';
export type Forgery =
  | 'wrong-secret'
  | 'alg-none'
  | 'alg-None-hs256-signature'
  | 'hs512'
  | 'expired'
  | 'no-exp'
  | 'exp-as-string'
  | 'nbf-future'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'sub-and-sid-of-different-users';
export type TokenMutation =
  | { flip: 0 | 1 | 2; at: number; to: number }
  | { truncate: number }
  | { append: string }
  | { dropPart: 0 | 1 | 2 };
export type TokenRecipe =
  /** The current access token of one of A's live sessions. */
  | { live: 0 | 1 }
  /** Claims of A's live session re-signed by the server's secret: genuine, unless over 4096 characters. */
  | { resigned: 0 | 1; pad: number }
  /** A token of A whose session was logged out. */
  | { dead: number }
  | { mutate: Holder; how: TokenMutation }
  | { forged: Forgery; of: Holder }
  /** Header and signature of A0's token around A1's payload. */
  | { swapPayloads: true }
  | { garbage: string }
  | { long: number };
/** How a refresh token of a tracked session is changed into one the server never issued. */
export type RefreshMutation = { truncate: number } | { append: string } | { flip: number; to: number } | { spareBits: true };
export type RefreshForgery =
  /** Same session and generation, another secret. */
  | { secret: true }
  /** The session id of another tracked session, the generation and secret of this one. */
  | { sessionOf: Holder }
  /** The real secret under another generation. */
  | { generation: -1 | 1 | 2 | 2_147_483_648 | 4_294_967_295 }
  | { unknownSession: true };
export type RefreshRecipe =
  /**
   * A refresh token of a tracked session: its current one, the one it replaced, or an older one
   * (the nearest that exists; B's is always its current one). `aged`: its last rotation is moved
   * an hour back first, past the grace period.
   */
  | { refresh: Holder; gen: 'current' | 'previous' | 'ancestor'; aged: boolean }
  /** One of a session that has ended. */
  | { deadRefresh: number }
  | { refreshMutate: Holder; how: RefreshMutation }
  | { refreshForged: Holder; how: RefreshForgery }
  /** An access token where a refresh token belongs. */
  | { access: TokenRecipe | 'B' };
export type SessionIdRecipe =
  | { of: Holder; spelling: 'lower' | 'upper' | 'braces' | 'no-dashes' | 'suffix' }
  /** A session of A that has ended. */
  | { deadSession: number }
  | { unknown: string }
  | { raw: string; encode: boolean };
export type AuthRecipe =
  | { none: true }
  | { lead: string; scheme: string; sep: string; token: TokenRecipe; trailer: string }
  | { raw: string };
export type PathMutation =
  | { trailingSlash: true }
  | { upper: true }
  | { flipCase: number }
  | { doubleSlash: number }
  | { encode: number }
  | { badPercent: string; at: number }
  | { dotSegment: '.' | '..' }
  | { long: number };
export interface PathRecipe {
  base: string;
  mutations: PathMutation[];
  /** `{A0}` stands for A0's live token. */
  query: string | null;
  /** What `{id}` in the base stands for (A0's id when not given). */
  id?: SessionIdRecipe;
}
export type RequestIdRecipe = { none: true } | { sane: string } | { insane: string } | { huge: number };
export type Key = string | { rawKey: string };
export type ValueRecipe =
  | { json: fc.JsonValue }
  | { literal: string }
  | { str: string }
  | { email: 'A' | 'A-upper' | 'B' }
  | { password: 'A' | 'B' }
  | { token: TokenRecipe | 'B' }
  | { refresh: RefreshRecipe }
  | { nested: number };
export type BodyRecipe =
  | { none: true }
  | { empty: true }
  | { register: { email: string; password: string } }
  | { login: { upper: boolean; rightPassword: boolean } }
  /** `B`: B's genuine token, only ever sent as a body token. */
  | { logout: { token: TokenRecipe | 'B' | null } }
  /** `{ scope }`, with a body token when one is given; `scope` absent when undefined. */
  | { scoped: { scope: fc.JsonValue | undefined; token: TokenRecipe | 'B' | null } }
  /** `{ refreshToken }`, or `{}`. */
  | { refreshBody: { token: RefreshRecipe | null } }
  /** `{ currentPassword, newPassword }`: A's current password, or a wrong one. */
  | { changePassword: { current: 'right' | 'wrong' | 'right-upper' | 'too-long'; next: fc.JsonValue } }
  | { fields: Array<[Key, ValueRecipe]> }
  | { text: string }
  | { deep: 'array' | 'object' | 'mixed' | 'unclosed'; depth: number; field: string | null }
  | { huge: number };
export interface RequestRecipe {
  method: string;
  path: PathRecipe;
  auth: AuthRecipe;
  contentType: string | null;
  requestId: RequestIdRecipe;
  body: BodyRecipe;
}
