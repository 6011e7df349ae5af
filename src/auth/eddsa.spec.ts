import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { calculateJwkThumbprint, exportJWK, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyEdDsa } from './eddsa.js';

const OPTIONS = { issuer: 'auth-backend', audience: 'auth-backend-clients' };
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const signed = (header: unknown, payload: unknown, key: KeyObject) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
};

const server = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
let kid = '';
let keys: Map<string, KeyObject>;

/** What jose makes of a token, keys chosen by kid as the server chooses them. */
async function reference(token: string): Promise<boolean> {
  try {
    await jwtVerify(
      token,
      async (header) => {
        const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined;
        if (!key) throw new Error('no such key');
        return key;
      },
      { algorithms: ['EdDSA'], ...OPTIONS },
    );
    return true;
  } catch {
    return false;
  }
}

const mostly = <T>(wanted: T, ...others: unknown[]) =>
  fc.oneof({ weight: 5, arbitrary: fc.constant(wanted) }, { weight: 1, arbitrary: fc.constantFrom(...others) });

describe('verifyEdDsa', () => {
  beforeAll(async () => {
    kid = await calculateJwkThumbprint(await exportJWK(server.publicKey), 'sha256');
    keys = new Map([[kid, server.publicKey]]);
  });

  it("accepts exactly the tokens jose's jwtVerify accepts (EdDSA only, key by kid, iss, aud, nbf)", async () => {
    const header = fc.record(
      {
        alg: mostly('EdDSA', 'Ed25519', 'HS256', 'none', 'eddsa', undefined),
        typ: fc.constantFrom('JWT', undefined, 'at+jwt'),
        kid: fc.oneof({ weight: 5, arbitrary: fc.constant('server') }, { weight: 1, arbitrary: fc.constantFrom('unknown', 7, undefined) }),
        crit: mostly(undefined, ['exp'], ['b64']),
      },
      { requiredKeys: [] },
    );
    const payload = fc.record(
      {
        sub: fc.option(fc.uuid(), { nil: undefined }),
        iss: mostly(OPTIONS.issuer, 'someone-else', '', 7),
        aud: fc.oneof(
          { weight: 4, arbitrary: fc.constant<unknown>(OPTIONS.audience) },
          { weight: 1, arbitrary: fc.constantFrom<unknown>('other', '', null, [OPTIONS.audience, 'x'], ['x']) },
        ),
        nbf: fc.option(fc.integer({ min: -100, max: 30 }).map((d) => now() + d), { nil: undefined }),
        // Expiry is the caller's, and jose always checks it: only future ones here.
        exp: fc.integer({ min: 60, max: 900 }).map((d) => now() + d),
        iat: fc.option(fc.constant(now()), { nil: undefined }),
      },
      { requiredKeys: ['exp'] },
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(header, payload, mostly(true, false), async (h, p, byServer) => {
        const fields = { ...h, kid: h.kid === 'server' ? kid : h.kid };
        const token = signed(fields, p, byServer ? server.privateKey : stranger.privateKey);
        const ours = verifyEdDsa(token, keys, OPTIONS) !== null;
        expect(ours).toBe(await reference(token));
        if (ours) accepted++;
      }),
      { numRuns: 300 },
    );
    // Both sides of the line were tried.
    expect(accepted).toBeGreaterThan(30);
    expect(accepted).toBeLessThan(290);
  });

  it('refuses the genuine signature spelled in non-canonical base64url, which jose would decode alike', () => {
    const token = signed({ alg: 'EdDSA', typ: 'JWT', kid }, { iss: OPTIONS.issuer, aud: OPTIONS.audience, exp: now() + 60 }, server.privateKey);
    expect(verifyEdDsa(token, keys, OPTIONS)).not.toBeNull();
    const last = token.at(-1)!;
    expect(verifyEdDsa(`${token.slice(0, -1)}${String.fromCharCode(last.charCodeAt(0) + 1)}`, keys, OPTIONS)).toBeNull();
  });
});
