import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExpired, expectInvalidToken } from '../support/expectations.js';
import { revokedAt } from '../support/rows.js';
import { startApp, type TestApp } from '../support/app.js';
import { INVALID_TOKEN_BODY } from '../support/messages.js';
import { API, logoutRequest, meRequest } from '../support/requests.js';
import { claimsFor, signToken } from '../support/tokens.js';
import { login, type LoggedIn, registerAndLogin } from '../support/users.js';
import {
  b64url,
  decodePart,
  expiredClaimsFor,
  handSigned,
  HS256,
  nowSeconds as now,
  OTHER_SECRET,
  unsignedToken,
  withoutExp,
} from '../support/tokens.js';

/** A token of exactly `length` characters, otherwise valid, made by padding a claim. */
function tokenOfLength(user: LoggedIn, length: number): string {
  for (let pad = 0; pad < length; pad++) {
    const token = handSigned(HS256, claimsFor(user, { pad: 'x'.repeat(pad) }));
    if (token.length === length) return token;
    if (token.length > length) break;
  }
  throw new Error(`no padding gives a token of ${length} characters`);
}

describe('access tokens: every way one is refused', () => {
  let t: TestApp;
  /** A live session, whose forged look-alikes must all be refused. */
  let user: LoggedIn;
  /** Another user with a live session. */
  let other: LoggedIn;

  beforeAll(async () => {
    t = await startApp();
    user = await registerAndLogin(t);
    other = await registerAndLogin(t);
  });
  afterAll(() => t.close());

  const meWithHeader = (authorization: string) => t.http().get(`${API}/me`).set('Authorization', authorization);

  describe('controls: the forging helpers make tokens the server accepts', () => {
    it('accepts the token from login, one signed with signToken and one built by hand', async () => {
      for (const token of [
        user.token,
        signToken(claimsFor(user)),
        handSigned(HS256, claimsFor(user)),
      ]) {
        const res = await meRequest(t, token);
        expect(res.status).toBe(200);
        expect(res.body.data).toEqual({ id: user.userId, email: user.email, sessionId: user.sessionId, amr: ['pwd'], authenticatedAt: expect.any(String) });
      }
    });

    it('accepts a token of exactly 4096 characters', async () => {
      const token = tokenOfLength(user, 4096);
      expect(token).toHaveLength(4096);
      await meRequest(t, token).expect(200);
    });

    it('accepts an exp a few seconds ahead and an nbf in the past', async () => {
      await meRequest(t, signToken(claimsFor(user, { exp: now() + 30, nbf: now() - 60 }))).expect(200);
    });
  });

  describe('refused with 401 on GET /me', () => {
    const cases: Array<[string, () => string]> = [
      ['alg "none" (header.payload.)', () => unsignedToken(claimsFor(user))],
      ['alg "none" without the trailing dot', () => unsignedToken(claimsFor(user)).slice(0, -1)],
      ['alg "None" with a real HS256 signature', () => handSigned({ alg: 'None', typ: 'JWT' }, claimsFor(user))],
      ['HS512 signed with the right secret', () => signToken(claimsFor(user), { algorithm: 'HS512' })],
      ['HS384 signed with the right secret', () => signToken(claimsFor(user), { algorithm: 'HS384' })],
      ['HS256 signed with another secret', () => signToken(claimsFor(user), { secret: OTHER_SECRET })],
      [
        'RS256 signed with some private key',
        () => {
          const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
          return new JwtService().sign(claimsFor(user), { privateKey, algorithm: 'RS256' });
        },
      ],
      ['a wrong issuer', () => signToken(claimsFor(user, { iss: 'someone-else' }))],
      ['no issuer', () => signToken(claimsFor(user, { iss: undefined }))],
      ['a wrong audience', () => signToken(claimsFor(user, { aud: 'other-clients' }))],
      ['no audience', () => signToken(claimsFor(user, { aud: undefined }))],
      ['no exp', () => handSigned(HS256, withoutExp(claimsFor(user)))],
      ['a non-numeric exp ("9999999999" as a string)', () => handSigned(HS256, claimsFor(user, { exp: '9999999999' }))],
      ['an exp that is null', () => handSigned(HS256, claimsFor(user, { exp: null }))],
      ['an nbf 60 s in the future', () => signToken(claimsFor(user, { nbf: now() + 60 }))],
      ['an nbf 6 s in the future (clock tolerance at most 5 s)', () => signToken(claimsFor(user, { nbf: now() + 6 }))],
      ['a token of 4097 characters', () => tokenOfLength(user, 4097)],
      ['a token of 6000 characters', () => tokenOfLength(user, 6000)],
      [
        'a tampered payload (sub of another user, original signature)',
        () => {
          const [header, , signature] = user.token.split('.');
          const payload = decodePart(user.token, 1);
          return `${header}.${b64url({ ...payload, sub: other.userId, sid: other.sessionId })}.${signature}`;
        },
      ],
      [
        'a tampered payload (exp pushed back, original signature)',
        () => {
          const [header, , signature] = user.token.split('.');
          const claims = decodePart(user.token, 1);
          return `${header}.${b64url({ ...claims, exp: claims.exp + 3600 })}.${signature}`;
        },
      ],
      [
        'a tampered signature',
        () => {
          const [header, payload, signature] = user.token.split('.');
          const flipped = signature[10] === 'A' ? 'B' : 'A';
          return `${header}.${payload}.${signature.slice(0, 10)}${flipped}${signature.slice(11)}`;
        },
      ],
      ['no signature at all', () => user.token.split('.').slice(0, 2).join('.') + '.'],
      ['two parts only', () => user.token.split('.').slice(0, 2).join('.')],
      ['four parts', () => `${user.token}.${user.token.split('.')[2]}`],
      ['a payload that is not JSON', () => handSigned(HS256, 'not json at all')],
      ['a payload that is a JSON array', () => handSigned(HS256, [claimsFor(user)])],
      ['a header that is not JSON', () => handSigned('{not json', claimsFor(user))],
      ['garbage', () => 'not-a-jwt'],
      [
        'a jku header and a signature by another key',
        () => handSigned({ ...HS256, jku: 'https://attacker.example/jwks.json' }, claimsFor(user), { secret: OTHER_SECRET }),
      ],
      [
        'a kid header and a signature by another key',
        () => handSigned({ ...HS256, kid: '../../../../dev/null' }, claimsFor(user), { secret: OTHER_SECRET }),
      ],
      [
        'an embedded jwk holding the key it is signed with',
        () =>
          handSigned(
            { ...HS256, jwk: { kty: 'oct', k: Buffer.from(OTHER_SECRET).toString('base64url') } },
            claimsFor(user),
            { secret: OTHER_SECRET },
          ),
      ],
      [
        'an x5u header and a signature by another key',
        () => handSigned({ ...HS256, x5u: 'https://attacker.example/cert.pem' }, claimsFor(user), { secret: OTHER_SECRET }),
      ],
      ['a sub that is not a uuid', () => signToken(claimsFor(user, { sub: 'admin' }))],
      ['a sub that is a number', () => handSigned(HS256, claimsFor(user, { sub: 1 }))],
      ['no sub', () => signToken(claimsFor(user, { sub: undefined }))],
      ['a sid that is not a uuid', () => signToken(claimsFor(user, { sid: `${user.sessionId}' OR '1'='1` }))],
      ['a sid that is a number', () => handSigned(HS256, claimsFor(user, { sid: 1 }))],
      ['no sid', () => signToken(claimsFor(user, { sid: undefined }))],
      ['a sid of a session that does not exist', () => signToken(claimsFor(user, { sid: randomUUID() }))],
      ["a sid of another user's session (sub mismatch)", () => signToken(claimsFor(user, { sid: other.sessionId }))],
      ["a sub of another user with one's own sid", () => signToken(claimsFor(user, { sub: other.userId }))],
      ['a sub of a user that does not exist', () => signToken(claimsFor(user, { sub: randomUUID() }))],
      // Claims are checked before expiry: these are 401, never 403.
      ['an expired token with a wrong issuer', () => signToken(expiredClaimsFor(user, { iss: 'someone-else' }))],
      ['an expired token with a wrong audience', () => signToken(expiredClaimsFor(user, { aud: 'other-clients' }))],
      ['an expired token signed with another secret', () => signToken(expiredClaimsFor(user), { secret: OTHER_SECRET })],
      ['an expired HS512 token', () => signToken(expiredClaimsFor(user), { algorithm: 'HS512' })],
      ['an expired token with a sid that is not a uuid', () => signToken(expiredClaimsFor(user, { sid: 'abc' }))],
    ];

    it.each(cases)('%s', async (_, build) => {
      expectInvalidToken(await meRequest(t, build()));
    });

    it('refuses a token whose session row is past its own expiry, though the JWT is not', async () => {
      const session = await login(t, user.email, user.password);
      await meRequest(t, session.token).expect(200);
      await t.dataSource.query(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
        session.sessionId,
      ]);
      expectInvalidToken(await meRequest(t, session.token));
    });

    it('does not take the token from the query string or a cookie', async () => {
      expectInvalidToken(await t.http().get(`${API}/me?access_token=${user.token}`));
      expectInvalidToken(await t.http().get(`${API}/me`).set('Cookie', `access_token=${user.token}`));
    });
  });

  describe('header fields kid, jku, jwk, x5u are never followed', () => {
    it.each([
      ['kid', { kid: 'https://attacker.example/key' }],
      ['jku', { jku: 'https://attacker.example/jwks.json' }],
      ['jwk', { jwk: { kty: 'oct', k: Buffer.from(OTHER_SECRET).toString('base64url') } }],
      ['x5u', { x5u: 'https://attacker.example/cert.pem' }],
    ])('a token naming a %s elsewhere but signed HS256 with the right secret verifies normally', async (_, extra) => {
      const res = await meRequest(t, handSigned({ ...HS256, ...extra }, claimsFor(user)));
      expect(res.status).toBe(200);
      expect(res.body.data).toEqual({ id: user.userId, email: user.email, sessionId: user.sessionId, amr: ['pwd'], authenticatedAt: expect.any(String) });
    });
  });

  describe('expiry: 403, after the claims and before the session', () => {
    it('answers 403 to a genuine token past its exp', async () => {
      expectExpired(await meRequest(t, signToken(expiredClaimsFor(user))));
    });

    it('answers 403 to a token 6 s past its exp (clock tolerance at most 5 s)', async () => {
      expectExpired(await meRequest(t, signToken(claimsFor(user, { exp: now() - 6 }))));
    });

    it('answers 403 to an expired token of a revoked session', async () => {
      const session = await login(t, user.email, user.password);
      await logoutRequest(t, session.token).expect(200);
      const expired = signToken(expiredClaimsFor({ userId: user.userId, sessionId: session.sessionId }));
      expectExpired(await meRequest(t, expired));
    });

    it('answers 403 to an expired token of a session that does not exist', async () => {
      expectExpired(await meRequest(t, signToken(expiredClaimsFor(user, { sid: randomUUID() }))));
    });
  });

  describe('the Authorization header', () => {
    it.each([
      ['bearer <token>', (token: string) => `bearer ${token}`],
      ['BEARER <token>', (token: string) => `BEARER ${token}`],
      ['BeArEr <token>', (token: string) => `BeArEr ${token}`],
    ])('accepts %s (the scheme is case-insensitive)', async (_, header) => {
      const res = await meWithHeader(header(user.token));
      expect(res.status).toBe(200);
      expect(res.body.data.sessionId).toBe(user.sessionId);
    });

    it.each([
      ['"Bearer" alone', () => 'Bearer'],
      ['"Bearer  " (spaces, no token)', () => 'Bearer  '],
      ['"Basic x"', () => 'Basic x'],
      ['"Basic <token>"', () => `Basic ${user.token}`],
      ['"Token <token>"', () => `Token ${user.token}`],
      ['the token without a scheme', () => user.token],
      ['"Bearer<token>" (no space)', () => `Bearer${user.token}`],
      ['"Bearer\\t<token>" (a tab)', () => `Bearer\t${user.token}`],
      ['"Bearer <token> extra"', () => `Bearer ${user.token} extra`],
      ['"Bearer <token>," (trailing comma)', () => `Bearer ${user.token},`],
      ['"Bearer <token>, Bearer <token>"', () => `Bearer ${user.token}, Bearer ${user.token}`],
      ['"Bearer "<token>"" (quoted)', () => `Bearer "${user.token}"`],
      ['"Bearer x"', () => 'Bearer x'],
    ])('refuses %s with 401', async (_, header) => {
      expectInvalidToken(await meWithHeader(header()));
    });

    it('refuses a request without an Authorization header with 401', async () => {
      expectInvalidToken(await meRequest(t));
    });
  });

  describe('POST /logout refuses the same tokens and revokes nothing', () => {
    type Case = [string, () => string];
    // Builders run inside the tests, once `user` and `other` exist.
    const refusedEither: Case[] = [
      ['alg "none"', () => unsignedToken(claimsFor(user))],
      ['HS512 with the right secret', () => signToken(claimsFor(user), { algorithm: 'HS512' })],
      ['another secret', () => signToken(claimsFor(user), { secret: OTHER_SECRET })],
      ['a wrong issuer', () => signToken(claimsFor(user, { iss: 'someone-else' }))],
      ['a wrong audience', () => signToken(claimsFor(user, { aud: 'other-clients' }))],
      ['no exp', () => handSigned(HS256, withoutExp(claimsFor(user)))],
      ['a string exp', () => handSigned(HS256, claimsFor(user, { exp: '9999999999' }))],
      ['an nbf in the future', () => signToken(claimsFor(user, { nbf: now() + 60 }))],
      ['4097 characters', () => tokenOfLength(user, 4097)],
      ['a jku and another key', () => handSigned({ ...HS256, jku: 'https://attacker.example/jwks.json' }, claimsFor(user), { secret: OTHER_SECRET })],
      ['an expired token with a wrong issuer', () => signToken(expiredClaimsFor(user, { iss: 'someone-else' }))],
    ];

    it.each<Case>([
      ...refusedEither,
      ["another user's sid", () => signToken(claimsFor(user, { sid: other.sessionId }))],
    ])('as the bearer: %s', async (_, build) => {
      expectInvalidToken(await logoutRequest(t, build()));
      expect(await revokedAt(t, user.sessionId)).toBeNull();
      expect(await revokedAt(t, other.sessionId)).toBeNull();
    });

    it.each<Case>([
      ...refusedEither,
      ['HS384 with the right secret', () => signToken(claimsFor(user), { algorithm: 'HS384' })],
      ['a sid that is not a uuid', () => signToken(claimsFor(user, { sid: 'abc' }))],
      ['a sid of a session that does not exist', () => signToken(claimsFor(user, { sid: randomUUID() }))],
    ])('as the body token, with a valid bearer: %s', async (_, build) => {
      const bearerSession = await login(t, user.email, user.password);
      expectInvalidToken(await logoutRequest(t, bearerSession.token).send({ token: build() }));
      expect(await revokedAt(t, user.sessionId)).toBeNull();
      expect(await revokedAt(t, bearerSession.sessionId)).toBeNull();
    });

    it('answers 403 to an expired body token of a revoked session of the same user', async () => {
      const gone = await login(t, user.email, user.password);
      await logoutRequest(t, gone.token).expect(200);
      const expired = signToken(expiredClaimsFor({ userId: user.userId, sessionId: gone.sessionId }));
      const bearerSession = await login(t, user.email, user.password);
      expectExpired(await logoutRequest(t, bearerSession.token).send({ token: expired }));
      expect(await revokedAt(t, bearerSession.sessionId)).toBeNull();
    });

    it('accepts, as bearer and as body token, a token with a jku header signed with the right secret', async () => {
      const a = await login(t, user.email, user.password);
      const b = await login(t, user.email, user.password);
      const jku = { ...HS256, jku: 'https://attacker.example/jwks.json' };
      const bearerToken = handSigned(jku, claimsFor({ userId: user.userId, sessionId: a.sessionId }));
      const bodyToken = handSigned(jku, claimsFor({ userId: user.userId, sessionId: b.sessionId }));
      await logoutRequest(t, bearerToken).send({ token: bodyToken }).expect(200);
      expect(await revokedAt(t, b.sessionId)).toBeInstanceOf(Date);
      expect(await revokedAt(t, a.sessionId)).toBeNull();
    });
  });

  it('answers every token failure, whatever the reason, with the same bytes and headers', async () => {
    const responses = await Promise.all([
      meRequest(t),
      meRequest(t, 'not-a-jwt'),
      meRequest(t, signToken(claimsFor(user), { secret: OTHER_SECRET })),
      meRequest(t, signToken(claimsFor(user, { sid: randomUUID() }))),
      meRequest(t, signToken(claimsFor(user, { sid: other.sessionId }))),
      meWithHeader('Basic x'),
    ]);
    const shape = (res: Response) => ({
      status: res.status,
      text: res.text,
      contentType: res.headers['content-type'],
      contentLength: res.headers['content-length'],
      wwwAuthenticate: res.headers['www-authenticate'],
      cacheControl: res.headers['cache-control'],
    });
    const first = shape(responses[0]);
    expect(first).toEqual({
      status: 401,
      text: INVALID_TOKEN_BODY,
      contentType: expect.stringMatching(/^application\/json/),
      contentLength: String(Buffer.byteLength(INVALID_TOKEN_BODY)),
      wwwAuthenticate: 'Bearer error="invalid_token"',
      cacheControl: 'no-store',
    });
    for (const res of responses) expect(shape(res)).toEqual(first);
    // The controls still pass: none of the above was refused because the user's own session died.
    await meRequest(t, user.token).expect(200);
  });
});
