import { randomBytes } from 'node:crypto';
import { claimsFor, signToken } from '../support/tokens.js';
import { MAX_TOKEN_LENGTH } from './oracle.js';
import type {
  AuthRecipe,
  BodyRecipe,
  Key,
  PathMutation,
  PathRecipe,
  RefreshRecipe,
  RequestRecipe,
  SessionIdRecipe,
  TokenRecipe,
  ValueRecipe,
} from './recipes.js';
import { ID } from './routes.js';
import { forge, FuzzState, mutateToken, type RefreshInfo, TOKEN_CHARS, type TokenInfo } from './state.js';

// From a recipe to the bytes of a request, with the tokens and ids of the state at that moment.

export interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Whether the Authorization header, as the server receives it, is `Bearer <live token>`. */
  bearer: TokenInfo & { genuine: boolean; wellFormed: boolean };
  /** The token in a parsed JSON body, if the body is JSON with a string `token`. */
  bodyToken?: TokenInfo;
  bodyHasToken: boolean;
  bodyHasScope: boolean;
  /** `scope` in a parsed JSON body (undefined when absent). */
  bodyScope?: unknown;
  /** The body as parsed, when it is a JSON object. */
  bodyObject?: Record<string, unknown>;
  /** What `refreshToken` in a parsed JSON object body is (any type but a string: `other`). */
  bodyRefresh?: RefreshInfo;
  /** The path with its session id, before mutations and query; the session it names, if a tracked one. */
  sessionPath?: { exact: string; names?: string };
  /** A session whose last rotation is to be moved an hour back before sending. */
  aged?: string;
  sentRequestId?: string;
}

/** Percent-encodes what may not go raw in a request target (controls, spaces, non-ASCII), and nothing else. */
export const escapeUnsafe = (s: string) => s.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));

export class Materializer {
  /** Every token made for this request, and what the test knows of it. */
  readonly tokens = new Map<string, TokenInfo>();
  /** Every refresh token made for this request, and what the test knows of it. */
  readonly refreshTokens = new Map<string, RefreshInfo>();
  private aged?: string;
  private sessionPath?: { exact: string; names?: string };

  constructor(private readonly state: FuzzState) {}

  token(recipe: TokenRecipe | 'B'): string {
    if (recipe === 'B') {
      // Live, but not a token of the bearer's user (B is never a bearer).
      this.tokens.set(this.state.userB.token, { live: false });
      return this.state.userB.token;
    }
    const { token, info } = this.make(recipe);
    // A mutation that changed nothing would be the live token under another name.
    if (!info.live && this.isLiveToken(token)) throw new Error(`test bug: ${JSON.stringify(recipe)} gave a live token`);
    if (!this.tokens.has(token) || info.live) this.tokens.set(token, info);
    return token;
  }

  private isLiveToken(token: string) {
    return this.state.a.some((s) => s.token === token);
  }

  private make(recipe: TokenRecipe): { token: string; info: TokenInfo } {
    const s = this.state;
    if ('live' in recipe) {
      const session = s.a[recipe.live];
      return { token: session.token, info: { live: true, sessionId: session.sessionId } };
    }
    if ('resigned' in recipe) {
      const session = s.a[recipe.resigned];
      const extra = recipe.pad ? { pad: 'x'.repeat(recipe.pad) } : {};
      const token = signToken(claimsFor({ userId: s.userA.userId, sessionId: session.sessionId }, extra));
      return { token, info: { live: token.length <= MAX_TOKEN_LENGTH, sessionId: session.sessionId } };
    }
    if ('dead' in recipe) {
      return { token: s.dead[recipe.dead % s.dead.length], info: { live: false } };
    }
    if ('mutate' in recipe) return { token: mutateToken(s.holder(recipe.mutate).token, recipe.how), info: { live: false } };
    if ('forged' in recipe) {
      const other = recipe.of === 'B' ? s.holder('A0') : s.userB;
      return { token: forge(recipe.forged, s.holder(recipe.of), other), info: { live: false } };
    }
    if ('swapPayloads' in recipe) {
      const [header, , signature] = s.a[0].token.split('.');
      return { token: `${header}.${s.a[1].token.split('.')[1]}.${signature}`, info: { live: false } };
    }
    if ('garbage' in recipe) return { token: recipe.garbage, info: { live: false } };
    return { token: 'a'.repeat(recipe.long), info: { live: false } };
  }

  refreshToken(recipe: RefreshRecipe): string {
    const { token, info } = this.makeRefresh(recipe);
    if (info.kind === 'other' && this.state.isTrackedRefreshToken(token)) {
      throw new Error(`test bug: ${JSON.stringify(recipe)} gave a token of a tracked session`);
    }
    if (!this.refreshTokens.has(token) || info.kind !== 'other') this.refreshTokens.set(token, info);
    return token;
  }

  private makeRefresh(recipe: RefreshRecipe): { token: string; info: RefreshInfo } {
    const s = this.state;
    const other = { kind: 'other' as const };
    if ('refresh' in recipe) {
      const { sessionId } = s.holder(recipe.refresh);
      const { tokens } = s.chain(recipe.refresh);
      const n = tokens.length;
      // B's session is never replayed: only its current token, which rotates it.
      const wanted = recipe.refresh === 'B' ? 'current' : recipe.gen;
      const i = wanted === 'previous' && n >= 2 ? n - 2 : wanted === 'ancestor' && n >= 3 ? n - 3 : n - 1;
      if (recipe.aged && recipe.refresh !== 'B' && n >= 2) this.aged = sessionId;
      const kind = i === n - 1 ? 'current' : i === n - 2 ? 'previous' : 'ancestor';
      return { token: tokens[i]!, info: { kind, sessionId } };
    }
    if ('deadRefresh' in recipe) return { token: s.deadRefresh[recipe.deadRefresh % s.deadRefresh.length]!, info: other };
    if ('access' in recipe) return { token: this.token(recipe.access), info: other };
    if ('refreshMutate' in recipe) {
      const token = s.chain(recipe.refreshMutate).tokens.at(-1)!;
      const how = recipe.how;
      if ('truncate' in how) return { token: token.slice(0, -how.truncate), info: other };
      if ('append' in how) return { token: token + how.append, info: other };
      if ('flip' in how) {
        const at = how.flip % token.length;
        const next = TOKEN_CHARS[(TOKEN_CHARS.indexOf(token[at]!) + 1 + (how.to % (TOKEN_CHARS.length - 1))) % TOKEN_CHARS.length];
        return { token: token.slice(0, at) + next + token.slice(at + 1), info: other };
      }
      // The last character carries 2 bits and 4 spare ones, zero in the only canonical spelling.
      const last = TOKEN_CHARS.indexOf(token.at(-1)!);
      return { token: token.slice(0, -1) + TOKEN_CHARS[last | 1], info: other };
    }
    if ('refreshForged' in recipe) {
      const bytes = Buffer.from(s.chain(recipe.refreshForged).tokens.at(-1)!, 'base64url');
      const how = recipe.how;
      if ('secret' in how) randomBytes(32).copy(bytes, 20);
      else if ('unknownSession' in how) randomBytes(16).copy(bytes, 0);
      else if ('sessionOf' in how) {
        const of = how.sessionOf !== recipe.refreshForged ? how.sessionOf : recipe.refreshForged === 'B' ? 'A0' : 'B';
        Buffer.from(s.holder(of).sessionId.replaceAll('-', ''), 'hex').copy(bytes, 0);
      } else {
        const generation = Math.abs(how.generation) > 2 ? how.generation : bytes.readUInt32BE(16) + how.generation;
        bytes.writeUInt32BE(generation < 0 ? 2 ** 32 - 1 : generation, 16);
      }
      return { token: bytes.toString('base64url'), info: other };
    }
    throw new Error(`test bug: unknown refresh recipe ${JSON.stringify(recipe)}`);
  }

  /** A session id as a path segment, and the tracked session it names, if it is a live one's canonical spelling. */
  private sessionSegment(recipe: SessionIdRecipe): { segment: string; names?: string } {
    const s = this.state;
    if ('of' in recipe) {
      const id = s.holder(recipe.of).sessionId;
      switch (recipe.spelling) {
        case 'lower':
          return { segment: id, names: id };
        case 'upper':
          return { segment: id.toUpperCase(), names: id };
        case 'braces':
          return { segment: `{${id}}` };
        case 'no-dashes':
          return { segment: id.replaceAll('-', '') };
        case 'suffix':
          return { segment: escapeUnsafe(`${id}' OR '1'='1`) };
      }
    }
    if ('deadSession' in recipe) return { segment: s.deadSessions[recipe.deadSession % s.deadSessions.length]! };
    if ('unknown' in recipe) return { segment: recipe.unknown };
    return { segment: recipe.encode ? encodeURIComponent(recipe.raw) : escapeUnsafe(recipe.raw) };
  }

  authorization(recipe: AuthRecipe): { header?: string; info: Request['bearer'] } {
    const refused = { live: false, genuine: false, wellFormed: false };
    if ('none' in recipe) return { info: refused };
    if ('raw' in recipe) return { header: recipe.raw, info: refused };
    const token = this.token(recipe.token);
    const info = this.tokens.get(token)!;
    // What the server sees: HTTP strips spaces and tabs around a field value. RFC 7235: the
    // scheme is case-insensitive, one or more spaces before the token, nothing after it.
    const schemeOk = /^bearer$/i.test(recipe.scheme) && /^ +$/.test(recipe.sep);
    const genuine = info.live && schemeOk && /^[ \t]*$/.test(recipe.trailer);
    const wellFormed = recipe.lead === '' && recipe.scheme === 'Bearer' && recipe.sep === ' ' && recipe.trailer === '';
    return {
      header: `${recipe.lead}${recipe.scheme}${recipe.sep}${token}${recipe.trailer}`,
      info: { ...info, live: genuine, genuine, wellFormed },
    };
  }

  path(recipe: PathRecipe): string {
    let path = recipe.base;
    if (path.includes(ID)) {
      const { segment, names } = this.sessionSegment(recipe.id ?? { of: 'A0', spelling: 'lower' });
      path = path.replace(ID, segment);
      this.sessionPath = { exact: path, names };
    }
    for (const m of recipe.mutations) path = mutatePath(path, m);
    if (recipe.query) path += recipe.query.replace('{A0}', this.token({ live: 0 }));
    return path;
  }

  value(recipe: ValueRecipe): string {
    const s = this.state;
    if ('json' in recipe) return JSON.stringify(recipe.json);
    if ('literal' in recipe) return recipe.literal;
    if ('str' in recipe) return JSON.stringify(recipe.str); // lone surrogates come out as `\ud800` escapes
    if ('email' in recipe) {
      const email = recipe.email === 'B' ? s.userB.email : s.userA.email;
      return JSON.stringify(recipe.email === 'A-upper' ? email.toUpperCase() : email);
    }
    if ('password' in recipe) return JSON.stringify(recipe.password === 'A' ? s.userA.password : `${s.userB.password}-not`);
    if ('token' in recipe) return JSON.stringify(this.token(recipe.token));
    if ('refresh' in recipe) return JSON.stringify(this.refreshToken(recipe.refresh));
    return `${'['.repeat(recipe.nested)}${']'.repeat(recipe.nested)}`;
  }

  body(recipe: BodyRecipe): string | undefined {
    const s = this.state;
    const object = (entries: Array<[Key, string]>) =>
      `{${entries.map(([k, v]) => `${typeof k === 'string' ? JSON.stringify(k) : k.rawKey}:${v}`).join(',')}}`;
    if ('none' in recipe) return undefined;
    if ('empty' in recipe) return '';
    if ('register' in recipe) return JSON.stringify(recipe.register);
    if ('login' in recipe) {
      const { email, password } = s.userA;
      return JSON.stringify({
        email: recipe.login.upper ? email.toUpperCase() : email,
        password: recipe.login.rightPassword ? password : `${password}!`,
      });
    }
    if ('logout' in recipe) return recipe.logout.token ? JSON.stringify({ token: this.token(recipe.logout.token) }) : '{}';
    if ('scoped' in recipe) {
      const { scope, token } = recipe.scoped;
      return JSON.stringify({ ...(token ? { token: this.token(token) } : {}), ...(scope === undefined ? {} : { scope }) });
    }
    if ('refreshBody' in recipe) {
      return recipe.refreshBody.token ? JSON.stringify({ refreshToken: this.refreshToken(recipe.refreshBody.token) }) : '{}';
    }
    if ('changePassword' in recipe) {
      const { current, next } = recipe.changePassword;
      const password = s.userA.password;
      const currentPassword = {
        right: password,
        'right-upper': password.toUpperCase(),
        wrong: `wrong-${password}`.slice(0, 128),
        'too-long': 'x'.repeat(129),
      }[current];
      return JSON.stringify({ currentPassword, newPassword: next });
    }
    if ('fields' in recipe) return object(recipe.fields.map(([k, v]) => [k, this.value(v)]));
    if ('text' in recipe) return recipe.text;
    if ('huge' in recipe) return JSON.stringify({ email: 'a'.repeat(recipe.huge) });
    const { deep, depth, field } = recipe;
    const nested =
      deep === 'array'
        ? `${'['.repeat(depth)}${']'.repeat(depth)}`
        : deep === 'object'
          ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
          : deep === 'mixed'
            ? `${'[{"a":'.repeat(depth)}1${'}]'.repeat(depth)}`
            : '['.repeat(depth);
    return field === null ? nested : object([[field, nested]]);
  }

  request(recipe: RequestRecipe): Request {
    const headers: Record<string, string> = {};
    const auth = this.authorization(recipe.auth);
    if (auth.header !== undefined) headers.authorization = auth.header;
    if (recipe.contentType !== null) headers['content-type'] = recipe.contentType;
    const rid = recipe.requestId;
    const sentRequestId = 'sane' in rid ? rid.sane : 'insane' in rid ? rid.insane : 'huge' in rid ? 'r'.repeat(rid.huge) : undefined;
    if (sentRequestId !== undefined) headers['x-request-id'] = sentRequestId;
    const text = this.body(recipe.body);

    let parsed: unknown;
    try {
      parsed = text === undefined ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    const bodyHasToken = object !== undefined && Object.hasOwn(object, 'token');
    const bodyToken = bodyHasToken ? (object as { token: unknown }).token : undefined;
    const refreshToken = object !== undefined && Object.hasOwn(object, 'refreshToken') ? object.refreshToken : undefined;
    const bodyHasScope = object !== undefined && Object.hasOwn(object, 'scope');
    const path = this.path(recipe.path);
    return {
      method: recipe.method,
      path,
      headers,
      body: text === undefined ? undefined : Buffer.from(text, 'utf8'),
      bearer: auth.info,
      bodyHasToken,
      bodyToken: typeof bodyToken === 'string' ? (this.tokens.get(bodyToken) ?? { live: false }) : undefined,
      bodyHasScope,
      bodyScope: bodyHasScope ? object!.scope : undefined,
      bodyObject: object,
      bodyRefresh:
        object === undefined || !Object.hasOwn(object, 'refreshToken')
          ? undefined
          : typeof refreshToken === 'string'
            ? (this.refreshTokens.get(refreshToken) ?? { kind: 'other' })
            : { kind: 'other' },
      sessionPath: this.sessionPath,
      aged: this.aged,
      sentRequestId,
    };
  }
}

export function mutatePath(path: string, m: PathMutation): string {
  const positions = (test: (c: string) => boolean) => [...path].flatMap((c, i) => (test(c) ? [i] : []));
  const at = (list: number[], n: number) => list[n % list.length];
  if ('trailingSlash' in m) return `${path}/`;
  if ('upper' in m) return path.toUpperCase();
  if ('flipCase' in m) {
    const letters = positions((c) => /[a-z]/i.test(c));
    if (!letters.length) return path;
    const i = at(letters, m.flipCase);
    const c = path[i];
    return path.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + path.slice(i + 1);
  }
  if ('doubleSlash' in m) {
    const i = at(positions((c) => c === '/'), m.doubleSlash);
    return `${path.slice(0, i)}/${path.slice(i)}`;
  }
  if ('encode' in m) {
    const chars = positions((c) => /[a-z0-9-]/i.test(c));
    if (!chars.length) return path;
    const i = at(chars, m.encode);
    return `${path.slice(0, i)}%${path.charCodeAt(i).toString(16).toUpperCase()}${path.slice(i + 1)}`;
  }
  if ('badPercent' in m) {
    const i = m.at % (path.length + 1);
    return path.slice(0, i) + m.badPercent + path.slice(i);
  }
  if ('dotSegment' in m) {
    const i = path.lastIndexOf('/');
    return `${path.slice(0, i)}${m.dotSegment === '..' ? '/x/..' : '/.'}${path.slice(i)}`;
  }
  return `${path}/${'a'.repeat(m.long)}`;
}
