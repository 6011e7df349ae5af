import { createHmac } from 'node:crypto';
import { createLocalJWKSet, exportJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ISSUER, startApp, TEST_SECRET, type TestApp } from '../support/app.js';
import { type Ed25519Key, ed25519Key, edSigned, kidOf } from '../support/ed25519.js';
import { expectInvalidToken } from '../support/expectations.js';
import { INVALID_TOKEN_BODY } from '../support/messages.js';
import { meRequest } from '../support/requests.js';
import { b64url, claimsFor, decodePart, handSigned, HS256, unsignedToken } from '../support/tokens.js';
import { type LoggedIn, registerAndLogin } from '../support/users.js';

const CLIENT = { id: 'billing', secret: 'billing-secret-0123456789-abcdefgh' };
const INTROSPECTION_CLIENTS = `${CLIENT.id}:${CLIENT.secret}`;

const hmac = (input: string, key: string | Buffer) => createHmac('sha256', key).update(input).digest('base64url');
/** An HS256 token whose HMAC key is anything: the public key in one of its forms, for instance. */
const hs256With = (key: string | Buffer, header: Record<string, unknown>, payload: unknown) => {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${hmac(input, key)}`;
};

async function introspect(t: TestApp, token: string) {
  return t.http().post('/api/v1/auth/introspect').auth(CLIENT.id, CLIENT.secret).type('form').send({ token });
}

/** Refused on /me with the one 401, and inactive for introspection. */
async function expectRefused(t: TestApp, token: string) {
  expectInvalidToken(await meRequest(t, token));
  const res = await introspect(t, token);
  expect(res.status).toBe(200);
  expect(res.text).toBe('{"active":false}');
}

describe('EdDSA signing keys (JWT_ALGORITHM=EdDSA)', () => {
  let t: TestApp;
  let key: Ed25519Key;
  let kid: string;
  let user: LoggedIn;

  beforeAll(async () => {
    key = ed25519Key();
    kid = await kidOf(key);
    t = await startApp({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: key.privatePem, INTROSPECTION_CLIENTS });
    user = await registerAndLogin(t);
  });
  afterAll(() => t.close());

  it('publishes the public key at /.well-known/jwks.json, named by its RFC 7638 thumbprint, and nothing private', async () => {
    const res = await t.http().get('/.well-known/jwks.json').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toStrictEqual({ keys: [{ ...(await exportJWK(key.publicKey)), kid, alg: 'EdDSA', use: 'sig' }] });
    expect(res.text).not.toMatch(/"d"/);
  });

  it('signs access tokens with EdDSA and that kid: a service verifies them with the JWKS alone', async () => {
    expect(decodePart(user.token, 0)).toStrictEqual({ alg: 'EdDSA', typ: 'JWT', kid });
    const jwks = createLocalJWKSet((await t.http().get('/.well-known/jwks.json')).body);
    const { payload } = await jwtVerify(user.token, jwks, { algorithms: ['EdDSA'], issuer: ISSUER, audience: AUDIENCE });
    expect(payload).toMatchObject({ sub: user.userId, sid: user.sessionId });
    await meRequest(t, user.token).expect(200);
  });

  it('accepts a token it did not issue only when signed by its key: a control for the forgeries below', async () => {
    await meRequest(t, edSigned({ alg: 'EdDSA', typ: 'JWT', kid }, claimsFor(user), key)).expect(200);
  });

  describe('refuses every algorithm confusion, with the one 401 and active: false', () => {
    const attacks: Array<[string, () => string | Promise<string>]> = [
      ['HS256 whose HMAC key is the public key as PEM', () => hs256With(key.publicPem, { ...HS256, kid }, claimsFor(user))],
      ['HS256 whose HMAC key is the raw public key', () => hs256With(key.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32), { ...HS256, kid }, claimsFor(user))],
      ['HS256 whose HMAC key is the JWK x', async () => hs256With((await exportJWK(key.publicKey)).x!, { ...HS256, kid }, claimsFor(user))],
      ['HS256 signed with JWT_SECRET, which still keys the refresh tokens', () => handSigned(HS256, claimsFor(user), { secret: TEST_SECRET })],
      ['alg none', () => unsignedToken(claimsFor(user))],
      ['alg none with the kid', () => `${b64url({ alg: 'none', typ: 'JWT', kid })}.${b64url(claimsFor(user))}.`],
      ['a kid naming no key', () => edSigned({ alg: 'EdDSA', typ: 'JWT', kid: 'no-such-key' }, claimsFor(user), ed25519Key())],
      ['the server\'s kid, signed by another key', () => edSigned({ alg: 'EdDSA', typ: 'JWT', kid }, claimsFor(user), ed25519Key())],
      ['no kid, signed by the server\'s key', () => edSigned({ alg: 'EdDSA', typ: 'JWT' }, claimsFor(user), key)],
      [
        'an attacker\'s key embedded as jwk, and its own thumbprint as kid',
        async () => {
          const attacker = ed25519Key();
          return edSigned({ alg: 'EdDSA', typ: 'JWT', kid: await kidOf(attacker), jwk: await exportJWK(attacker.publicKey) }, claimsFor(user), attacker);
        },
      ],
      [
        'an attacker\'s key embedded as jwk, with the server\'s kid',
        async () => {
          const attacker = ed25519Key();
          return edSigned({ alg: 'EdDSA', typ: 'JWT', kid, jwk: await exportJWK(attacker.publicKey) }, claimsFor(user), attacker);
        },
      ],
      ['jku pointing at an attacker\'s key set', () => edSigned({ alg: 'EdDSA', typ: 'JWT', kid: 'evil', jku: 'https://evil.example/jwks.json' }, claimsFor(user), ed25519Key())],
      ['alg Ed25519 (the newer name), signed by the server\'s key', () => edSigned({ alg: 'Ed25519', typ: 'JWT', kid }, claimsFor(user), key)],
      ['a crit header, signed by the server\'s key', () => edSigned({ alg: 'EdDSA', typ: 'JWT', kid, crit: ['exp'] }, claimsFor(user), key)],
      ['another issuer, signed by the server\'s key', () => edSigned({ alg: 'EdDSA', typ: 'JWT', kid }, claimsFor(user, { iss: 'someone-else' }), key)],
      ['another audience, signed by the server\'s key', () => edSigned({ alg: 'EdDSA', typ: 'JWT', kid }, claimsFor(user, { aud: 'other' }), key)],
      [
        'the genuine signature spelled another way (non-canonical base64url)',
        () => {
          const [h, p, s] = user.token.split('.');
          const last = s!.at(-1)!;
          // Ed25519 signatures are 64 bytes: the last character carries 2 spare bits.
          const sibling = 'AQgw'.includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : last;
          return `${h}.${p}.${s!.slice(0, -1)}${sibling === last ? 'B' : sibling}`;
        },
      ],
      ['the payload of another user under the genuine signature', () => {
        const [h, , s] = user.token.split('.');
        return `${h}.${b64url(claimsFor({ userId: user.userId, sessionId: user.sessionId }, { sub: '00000000-0000-4000-8000-000000000000' }))}.${s}`;
      }],
    ];
    for (const [name, forge] of attacks) {
      it(name, async () => {
        await expectRefused(t, await forge());
      });
    }
  });
});

describe('rotation: JWT_PREVIOUS_PUBLIC_KEYS', () => {
  let t: TestApp;
  let previous: Ed25519Key;
  let current: Ed25519Key;

  beforeAll(async () => {
    previous = ed25519Key();
    current = ed25519Key();
    // As an operator pastes it into an env file: one line, `\n` for each line break.
    t = await startApp({
      JWT_ALGORITHM: 'EdDSA',
      JWT_PRIVATE_KEY: current.privatePem.replace(/\n/g, '\\n'),
      JWT_PREVIOUS_PUBLIC_KEYS: previous.publicPem + ed25519Key().publicPem,
      INTROSPECTION_CLIENTS,
    });
  });
  afterAll(() => t.close());

  it('publishes the current key first, then the previous ones', async () => {
    const { body } = await t.http().get('/.well-known/jwks.json').expect(200);
    expect(body.keys.map((k: { kid: string }) => k.kid).slice(0, 2)).toStrictEqual([await kidOf(current), await kidOf(previous)]);
    expect(body.keys).toHaveLength(3);
  });

  it('signs with the current key and still accepts what the previous key signed', async () => {
    const user = await registerAndLogin(t);
    expect(decodePart(user.token, 0).kid).toBe(await kidOf(current));
    const old = edSigned({ alg: 'EdDSA', typ: 'JWT', kid: await kidOf(previous) }, claimsFor(user), previous);
    await meRequest(t, old).expect(200);
    expect((await introspect(t, old)).body).toMatchObject({ active: true, sid: user.sessionId });
  });

  it('refuses a key dropped from the list, and a previous kid on a token the current key signed', async () => {
    const user = await registerAndLogin(t);
    const dropped = ed25519Key();
    await expectRefused(t, edSigned({ alg: 'EdDSA', typ: 'JWT', kid: await kidOf(dropped) }, claimsFor(user), dropped));
    await expectRefused(t, edSigned({ alg: 'EdDSA', typ: 'JWT', kid: await kidOf(previous) }, claimsFor(user), current));
  });
});

describe('HS256 (the default)', () => {
  let t: TestApp;
  let user: LoggedIn;

  beforeAll(async () => {
    t = await startApp({ INTROSPECTION_CLIENTS });
    user = await registerAndLogin(t);
  });
  afterAll(() => t.close());

  it('publishes no key: the secret is never shared', async () => {
    const res = await t.http().get('/.well-known/jwks.json').expect(200);
    expect(res.text).toBe('{"keys":[]}');
  });

  it('refuses EdDSA tokens whatever key signed them, and alg none', async () => {
    const someKey = ed25519Key();
    await expectRefused(t, edSigned({ alg: 'EdDSA', typ: 'JWT', kid: await kidOf(someKey) }, claimsFor(user), someKey));
    await expectRefused(t, edSigned({ alg: 'EdDSA', typ: 'JWT', jwk: await exportJWK(someKey.publicKey) }, claimsFor(user), someKey));
    await expectRefused(t, unsignedToken(claimsFor(user)));
    expect((await meRequest(t, user.token)).text).not.toBe(INVALID_TOKEN_BODY);
  });
});
