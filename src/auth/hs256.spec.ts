import { createHmac, createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import jsonwebtoken from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { verifyHs256 } from './hs256.js';

const KEY = createSecretKey(Buffer.from('hs256-spec-secret-0123456789-abcdefghijklmnopqrstuvwxyz'));
const OTHER_KEY = createSecretKey(Buffer.from('another-secret-0123456789-abcdefghijklmnopqrstuvwxyz'));
const OPTIONS = { issuer: 'auth-backend', audience: 'auth-backend-clients' };
const now = () => Math.floor(Date.now() / 1000);

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const sign = (header: string, payload: string, key = KEY) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
};

/** What jsonwebtoken, with the options AccessTokenService used to give it, makes of a token. */
function reference(token: string): unknown {
  try {
    return jsonwebtoken.verify(token, KEY, { algorithms: ['HS256'], ...OPTIONS, ignoreExpiration: true, clockTolerance: 0 });
  } catch {
    return null;
  }
}

const claim = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Mostly the value the server wants, sometimes any of the others. */
const mostly = <T>(wanted: T, ...others: unknown[]) =>
  fc.oneof({ weight: 5, arbitrary: fc.constant(wanted) }, { weight: 1, arbitrary: fc.constantFrom(...others) });
const header = fc.record(
  {
    alg: mostly('HS256', 'HS384', 'none', 'hs256', 'RS256', undefined, 1),
    typ: fc.constantFrom('JWT', 'jwt', undefined, 'at+jwt'),
    kid: claim(fc.string()),
  },
  { requiredKeys: ['alg'] },
);
const payload = fc.record(
  {
    sub: claim(fc.uuid()),
    iss: mostly(OPTIONS.issuer, 'someone-else', '', 7, undefined),
    aud: fc.oneof(
      { weight: 4, arbitrary: fc.constant(OPTIONS.audience) },
      { weight: 1, arbitrary: fc.constantFrom('other', '', null, undefined) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom(OPTIONS.audience, 'other', 3), { maxLength: 3 }) },
    ),
    nbf: claim(fc.oneof(fc.integer({ min: -100, max: 100 }).map((d) => now() + d), fc.constant('0'), fc.constant(null))),
    exp: claim(fc.oneof(fc.integer({ min: -100, max: 100 }).map((d) => now() + d), fc.constant('soon'))),
    extra: claim(fc.jsonValue({ maxDepth: 2 })),
  },
  { requiredKeys: ['iss', 'aud'] },
);
/** A JSON text for a part: usually the object, sometimes anything else JSON or not. */
const part = (object: fc.Arbitrary<object>) =>
  fc.oneof(
    { weight: 6, arbitrary: object.map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );
/** Ways to spoil a token's text: none, most of the time. */
const mutation = fc.oneof(
  { weight: 6, arbitrary: fc.constant((t: string) => t) },
  { weight: 1, arbitrary: fc.nat(200).map((i) => (t: string) => t.slice(0, i % (t.length + 1))) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(200), fc.constantFrom('A', '-', '_', '.', '=', '+', '/', ' ', 'é'))
      .map(([i, c]) => (t: string) => t.slice(0, i % t.length) + c + t.slice((i % t.length) + 1)),
  },
  { weight: 1, arbitrary: fc.constantFrom('=', '.', '..x', '==').map((s) => (t: string) => t + s) },
);

describe('verifyHs256', () => {
  it('accepts a token of the server key with HS256, the issuer and the audience, and returns its claims', () => {
    const claims = { sub: 'u', sid: 's', iss: OPTIONS.issuer, aud: OPTIONS.audience, exp: now() - 10 };
    expect(verifyHs256(sign('{"alg":"HS256","typ":"JWT"}', JSON.stringify(claims)), KEY, OPTIONS)).toStrictEqual(claims);
  });

  it.each([
    ['another key', sign('{"alg":"HS256"}', JSON.stringify({ iss: OPTIONS.issuer, aud: OPTIONS.audience }), OTHER_KEY)],
    ['alg none', `${b64('{"alg":"none"}')}.${b64(JSON.stringify({ iss: OPTIONS.issuer, aud: OPTIONS.audience }))}.`],
    ['a future nbf', sign('{"alg":"HS256"}', JSON.stringify({ iss: OPTIONS.issuer, aud: OPTIONS.audience, nbf: now() + 5 }))],
    ['no audience', sign('{"alg":"HS256"}', JSON.stringify({ iss: OPTIONS.issuer }))],
  ])('refuses %s', (_, token) => {
    expect(verifyHs256(token, KEY, OPTIONS)).toBeNull();
    expect(reference(token)).toBeNull();
  });

  it('accepts and refuses exactly what jsonwebtoken.verify does, with the same claims', () => {
    let accepted = 0;
    fc.assert(
      fc.property(part(header), part(payload), mostly(false, true), mutation, (h, p, otherKey, spoil) => {
        const token = spoil(sign(h, p, otherKey ? OTHER_KEY : KEY));
        const claims = verifyHs256(token, KEY, OPTIONS);
        expect(claims).toStrictEqual(reference(token));
        if (claims) accepted++;
      }),
      { numRuns: 3000 },
    );
    // The generated tokens are not all refused: both answers are compared.
    expect(accepted).toBeGreaterThan(30);
  });
});
