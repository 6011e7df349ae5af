import { createHmac, randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import type { SessionsService } from '../sessions/sessions.service.js';
import { AccessTokenService } from './access-token.service.js';
import type { AuthConfig } from './auth.config.js';
import { SigningKeysService } from './signing-keys.service.js';

const SECRET = 'k3Y9x-unit-test-secret-0123456789abcdef';
const ISSUER = 'auth-backend';
const AUDIENCE = 'auth-backend-clients';
const TTL = 900;

const fakeConfig = {
  JWT_SECRET: SECRET,
  JWT_ISSUER: ISSUER,
  JWT_AUDIENCE: AUDIENCE,
  JWT_ACCESS_TTL: TTL,
  JWT_ALGORITHM: 'HS256',
} as AuthConfig;

/** As AuthModule registers it. */
const jwtServiceWith = (overrides: { secret?: string; issuer?: string; audience?: string } = {}) =>
  new JwtService({
    secret: overrides.secret ?? SECRET,
    signOptions: {
      algorithm: 'HS256',
      issuer: overrides.issuer ?? ISSUER,
      audience: overrides.audience ?? AUDIENCE,
    },
  });

const USER = '3f1c2a6e-8b7d-4c1e-9a2b-5d6e7f809a1b';
const SESSION = 'a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d';

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A token built by hand, for headers and claims the JwtService would not produce. */
function handMade(header: object, payload: object, secret = SECRET, alg: 'sha256' | 'sha384' = 'sha256') {
  const head = `${b64url(header)}.${b64url(payload)}`;
  return `${head}.${createHmac(alg, secret).update(head).digest('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);
const inTtl = () => new Date((now() + TTL) * 1000);
const EMAIL = 'ana@example.com';
const AUTHENTICATED_AT = new Date();
const LIVE = { id: SESSION, userId: USER, email: EMAIL, roles: ['editor'], expiresAt: new Date(), amr: ['pwd'], authenticatedAt: AUTHENTICATED_AT };
const PRINCIPAL = { userId: USER, sessionId: SESSION, email: EMAIL, roles: ['editor'], amr: ['pwd'], authenticatedAt: AUTHENTICATED_AT };
const goodClaims = (extra: object = {}) => ({
  sub: USER,
  sid: SESSION,
  jti: randomUUID(),
  iat: now(),
  exp: now() + TTL,
  iss: ISSUER,
  aud: AUDIENCE,
  ...extra,
});

async function expectCode(promise: Promise<unknown>, code: ErrorCode) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppException);
  expect((error as AppException).code).toBe(code);
}

describe('AccessTokenService', () => {
  let findLive: ReturnType<typeof vi.fn>;
  let service: AccessTokenService;
  let jwt: JwtService;

  beforeEach(() => {
    findLive = vi.fn().mockResolvedValue(LIVE);
    jwt = jwtServiceWith();
    service = new AccessTokenService(new SigningKeysService(jwt, fakeConfig), { findLive } as unknown as SessionsService, fakeConfig);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('sign', () => {
    it('issues an HS256 JWT with sub, sid, jti, iat, exp, iss, aud', async () => {
      const token = await service.sign({ userId: USER, sessionId: SESSION }, inTtl());
      const [header, payload] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
      expect(header).toStrictEqual({ alg: 'HS256', typ: 'JWT' });
      expect(payload).toStrictEqual({
        sub: USER,
        sid: SESSION,
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
        iat: expect.any(Number),
        exp: payload.iat + TTL,
        iss: ISSUER,
        aud: AUDIENCE,
      });
      expect(Math.abs(payload.iat - now())).toBeLessThanOrEqual(1);
    });

    it('gives every token its own jti', async () => {
      const a = await service.sign({ userId: USER, sessionId: SESSION }, inTtl());
      const b = await service.sign({ userId: USER, sessionId: SESSION }, inTtl());
      expect(jwt.decode(a).jti).not.toBe(jwt.decode(b).jti);
    });

    it('exposes the configured lifetime', () => {
      expect(service.expiresIn).toBe(TTL);
    });
  });

  describe('verify', () => {
    it('a token verified before: the session is still looked up on every use, expiry still checked, a changed byte still refused', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const token = await service.sign({ userId: USER, sessionId: SESSION }, inTtl());
      await expect(service.verify(token)).resolves.toStrictEqual(PRINCIPAL);
      await expect(service.verify(token)).resolves.toStrictEqual(PRINCIPAL);
      expect(findLive).toHaveBeenCalledTimes(2);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const flipped = `${header}.${payload}.${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
      await expectCode(service.verify(flipped), ErrorCode.InvalidToken);
      findLive.mockResolvedValueOnce(null);
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
      vi.setSystemTime(Date.now() + (TTL + 1) * 1000);
      await expectCode(service.verify(token), ErrorCode.TokenExpired);
    });

    it('round-trips a signed token to its principal, checking the session', async () => {
      const token = await service.sign({ userId: USER, sessionId: SESSION }, inTtl());
      await expect(service.verify(token)).resolves.toStrictEqual(PRINCIPAL);
      expect(findLive).toHaveBeenCalledTimes(1);
      expect(findLive).toHaveBeenCalledWith(SESSION);
    });

    it.each([
      ['undefined', undefined],
      ['null', null],
      ['a number', 42],
      ['an object', { token: 'x' }],
      ['an array', ['a.b.c']],
      ['an empty string', ''],
    ])('refuses %s with InvalidToken', async (_, token) => {
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('refuses a token over 4096 characters', async () => {
      const token = await service.sign({ userId: USER, sessionId: SESSION }, inTtl());
      const long = `${token}${'A'.repeat(4097 - token.length)}`;
      expect(long.length).toBe(4097);
      await expectCode(service.verify(long), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('refuses garbage', async () => {
      await expectCode(service.verify('not-a-jwt'), ErrorCode.InvalidToken);
      await expectCode(service.verify('a.b.c'), ErrorCode.InvalidToken);
    });

    it('refuses a token signed with another secret', async () => {
      const token = await jwtServiceWith({ secret: 'another-secret-of-at-least-32-characters!' }).signAsync({
        sub: USER,
        sid: SESSION,
      });
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('refuses a tampered payload', async () => {
      const token = await service.sign({ userId: USER, sessionId: SESSION }, inTtl());
      const [h, , s] = token.split('.');
      const forged = `${h}.${b64url(goodClaims({ sub: 'b0b0b0b0-b0b0-4b0b-8b0b-b0b0b0b0b0b0' }))}.${s}`;
      await expectCode(service.verify(forged), ErrorCode.InvalidToken);
    });

    it('refuses HS384 even with the right secret', async () => {
      const token = handMade({ alg: 'HS384', typ: 'JWT' }, goodClaims(), SECRET, 'sha384');
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('refuses alg "none"', async () => {
      const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(goodClaims())}.`;
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('accepts a hand-made HS256 token (so the refusals above are about alg only)', async () => {
      const token = handMade({ alg: 'HS256', typ: 'JWT' }, goodClaims());
      await expect(service.verify(token)).resolves.toStrictEqual(PRINCIPAL);
    });

    it('refuses a wrong issuer', async () => {
      const token = await jwtServiceWith({ issuer: 'someone-else' }).signAsync(
        { sid: SESSION },
        { subject: USER, expiresIn: TTL },
      );
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('refuses a wrong audience', async () => {
      const token = await jwtServiceWith({ audience: 'other-clients' }).signAsync(
        { sid: SESSION },
        { subject: USER, expiresIn: TTL },
      );
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('refuses a token without iss or aud', async () => {
      const { iss: _iss, ...noIss } = goodClaims();
      const { aud: _aud, ...noAud } = goodClaims();
      await expectCode(service.verify(handMade({ alg: 'HS256', typ: 'JWT' }, noIss)), ErrorCode.InvalidToken);
      await expectCode(service.verify(handMade({ alg: 'HS256', typ: 'JWT' }, noAud)), ErrorCode.InvalidToken);
    });

    it('refuses a token whose nbf is in the future', async () => {
      const token = handMade({ alg: 'HS256', typ: 'JWT' }, goodClaims({ nbf: now() + 60 }));
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('refuses a token without exp with 401', async () => {
      const { exp: _exp, ...claims } = goodClaims();
      await expectCode(service.verify(handMade({ alg: 'HS256', typ: 'JWT' }, claims)), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('answers TokenExpired for a genuine but expired token, without a lookup', async () => {
      const token = handMade({ alg: 'HS256', typ: 'JWT' }, goodClaims({ iat: now() - 1000, exp: now() - 10 }));
      await expectCode(service.verify(token), ErrorCode.TokenExpired);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('an expired token with a bad signature is 401, not 403', async () => {
      const token = handMade({ alg: 'HS256', typ: 'JWT' }, goodClaims({ exp: now() - 10 }), 'wrong-secret');
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
    });

    it('an expired token with a wrong audience is 401, not 403', async () => {
      const token = handMade({ alg: 'HS256', typ: 'JWT' }, goodClaims({ exp: now() - 10, aud: 'other' }));
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
    });

    it('does not follow kid/jku/jwk/x5u header fields', async () => {
      const token = handMade(
        {
          alg: 'HS256',
          typ: 'JWT',
          kid: '../../dev/null',
          jku: 'https://attacker.example/jwks.json',
          x5u: 'https://attacker.example/cert.pem',
        },
        goodClaims(),
        'attacker-secret',
      );
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
    });

    it('a revoked session gives InvalidToken', async () => {
      findLive.mockResolvedValue(null);
      const token = await service.sign({ userId: USER, sessionId: SESSION }, inTtl());
      await expectCode(service.verify(token), ErrorCode.InvalidToken);
      expect(findLive).toHaveBeenCalledWith(SESSION);
    });
  });

  describe('authenticate', () => {
    const payload = (extra: object = {}) => ({ sub: USER, sid: SESSION, exp: now() + 60, ...extra });

    it('returns the principal of a live session', async () => {
      await expect(service.authenticate(payload())).resolves.toStrictEqual(PRINCIPAL);
      expect(findLive).toHaveBeenCalledWith(SESSION);
    });

    it.each([
      ['missing', undefined],
      ['a numeric string', String(now() + 60)],
      ['null', null],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['an object', { value: now() + 60 }],
    ])('exp %s → InvalidToken without a lookup', async (_, exp) => {
      await expectCode(service.authenticate(payload({ exp })), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('past exp → TokenExpired and the session is not looked up', async () => {
      await expectCode(service.authenticate(payload({ exp: now() - 1 })), ErrorCode.TokenExpired);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('exp is exclusive: expired at exactly exp, valid one second before', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(1_700_000_000_000);
      await expectCode(service.authenticate(payload({ exp: 1_700_000_000 })), ErrorCode.TokenExpired);
      await expect(service.authenticate(payload({ exp: 1_700_000_001 }))).resolves.toStrictEqual(PRINCIPAL);
    });

    it.each([
      ['sub not a uuid', { sub: 'admin' }],
      ['sub a number', { sub: 1 }],
      ['sub missing', { sub: undefined }],
      ['sid not a uuid', { sid: "1' OR '1'='1" }],
      ['sid missing', { sid: undefined }],
      ['sid a uuid with extra text', { sid: `${SESSION}x` }],
    ])('%s → InvalidToken without a lookup', async (_, extra) => {
      await expectCode(service.authenticate(payload(extra)), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it('bad claims win over expiry (401 before 403)', async () => {
      await expectCode(service.authenticate(payload({ sub: 'nope', exp: now() - 100 })), ErrorCode.InvalidToken);
    });

    it.each([
      ['null', null],
      ['undefined', undefined],
      ['string', 'payload'],
    ])('a %s payload → InvalidToken', async (_, p) => {
      await expectCode(service.authenticate(p), ErrorCode.InvalidToken);
      expect(findLive).not.toHaveBeenCalled();
    });

    it("another user's session → InvalidToken", async () => {
      findLive.mockResolvedValue({ ...LIVE, userId: '0c5d1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d' });
      await expectCode(service.authenticate(payload()), ErrorCode.InvalidToken);
    });

    it('accepts ids in capitals: the database spells them in lowercase', async () => {
      await expect(service.authenticate(payload({ sub: USER.toUpperCase(), sid: SESSION.toUpperCase() }))).resolves.toStrictEqual(
        PRINCIPAL,
      );
    });

    it('an inactive session → InvalidToken', async () => {
      findLive.mockResolvedValue(null);
      await expectCode(service.authenticate(payload()), ErrorCode.InvalidToken);
      expect(findLive).toHaveBeenCalledTimes(1);
    });

    it('a failing lookup (database down) propagates the same error, not an AppException', async () => {
      const down = new Error('connect ECONNREFUSED 127.0.0.1:5432');
      findLive.mockRejectedValue(down);
      const error = await service.authenticate(payload()).catch((e: unknown) => e);
      expect(error).toBe(down);
      expect(error).not.toBeInstanceOf(AppException);
    });

    it('a failing lookup during verify propagates too', async () => {
      const down = new Error('Connection terminated unexpectedly');
      findLive.mockRejectedValue(down);
      const token = await service.sign({ userId: USER, sessionId: SESSION }, inTtl());
      await expect(service.verify(token)).rejects.toBe(down);
    });
  });
});
