import { createHash } from 'node:crypto';
import fc from 'fast-check';

// WebAuthn credentials no authenticator made: malformed base64url, clientDataJSON that is not
// JSON or names the wrong ceremony, origin or challenge, CBOR that is truncated, nested without
// end or of the wrong shape, authenticator data cut short. Recipes are plain data; a real
// challenge of the server is filled in when the request is sent.

/** The smallest CBOR encoder the garbage needs (RFC 8949 major types 0 to 5, canonical lengths). */
export function cbor(value: unknown): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  if (value instanceof Map) return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  const entries = Object.entries(value as Record<string, unknown>);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

const RP_ID_HASH = createHash('sha256').update('localhost').digest();
/** rpIdHash, flags, signCount: 37 bytes; `rest` follows (attested credential data, extensions). */
const authData = (flags: number, counter = 0, rest: Buffer = Buffer.alloc(0), rpIdHash = RP_ID_HASH) => {
  const b = Buffer.alloc(37);
  rpIdHash.copy(b, 0);
  b[32] = flags;
  b.writeUInt32BE(counter, 33);
  return Buffer.concat([b, rest]);
};
/** aaguid, a credential id length, the id, and what should be a COSE key. */
const attested = (idLength: number, id: Buffer, key: Buffer) => {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(idLength);
  return Buffer.concat([Buffer.alloc(16), len, id, key]);
};

/** CBOR and authenticator data bytes that must be refused, each in its own way. */
export const BAD_CBOR: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  'lone break': Buffer.from('ff', 'hex'),
  'map of one, cut': Buffer.from('a1', 'hex'),
  'map, cut in a key': Buffer.from('a3636668', 'hex'),
  'byte string of 2^64-1': Buffer.from('5bffffffffffffffff', 'hex'),
  'array of 2^63-1': Buffer.from('9b7fffffffffffffff', 'hex'),
  'nested 600 deep': Buffer.concat([Buffer.alloc(600, 0x81), Buffer.from([0])]),
  'indefinite map never closed': Buffer.from('bf6366', 'hex'),
  'invalid UTF-8 text': Buffer.from('62c328', 'hex'),
  'NaN half float': Buffer.from('f97e00', 'hex'),
  'bignum tag': Buffer.from('c249010000000000000000', 'hex'),
  'reserved additional info': Buffer.from('1c', 'hex'),
  'map with a map key': Buffer.concat([Buffer.from('a1a1', 'hex'), cbor('a'), cbor(1), cbor(2)]),
  'duplicate keys': Buffer.concat([Buffer.from('a2', 'hex'), cbor('fmt'), cbor('none'), cbor('fmt'), cbor('packed')]),
  'not a map': cbor(['fmt', 'none']),
  'fmt none, empty authData': cbor({ fmt: 'none', attStmt: {}, authData: Buffer.alloc(0) }),
  'fmt none, authData of 36 bytes': cbor({ fmt: 'none', attStmt: {}, authData: Buffer.alloc(36) }),
  'fmt none, AT flag without attested data': cbor({ fmt: 'none', attStmt: {}, authData: authData(0x45) }),
  'fmt none, credential id length past the end': cbor({
    fmt: 'none',
    attStmt: {},
    authData: authData(0x45, 0, attested(0xffff, Buffer.alloc(8), Buffer.alloc(0))),
  }),
  'fmt none, COSE key that is no CBOR': cbor({
    fmt: 'none',
    attStmt: {},
    authData: authData(0x45, 0, attested(16, Buffer.alloc(16, 7), Buffer.from('ffff', 'hex'))),
  }),
  'fmt none, COSE key of an unknown algorithm': cbor({
    fmt: 'none',
    attStmt: {},
    authData: authData(0x45, 0, attested(16, Buffer.alloc(16, 7), cbor(new Map<number, unknown>([[1, 2], [3, -65535], [-1, 1], [-2, Buffer.alloc(32)], [-3, Buffer.alloc(32)]])))),
  }),
  'fmt packed, signature of nothing': cbor({ fmt: 'packed', attStmt: { alg: -7, sig: Buffer.from([0]) }, authData: authData(0x45) }),
  'fmt tpm with garbage': cbor({ fmt: 'tpm', attStmt: { ver: '2.0', alg: -257, x5c: [Buffer.from('30', 'hex')] }, authData: authData(0x41) }),
  'unknown fmt': cbor({ fmt: 'x'.repeat(300), attStmt: {}, authData: authData(0x41) }),
  'wrong rp id hash': cbor({ fmt: 'none', attStmt: {}, authData: authData(0x45, 0, Buffer.alloc(0), Buffer.alloc(32, 1)) }),
};

/** Authenticator data for an assertion: short, long, flags off, the wrong relying party. */
export const BAD_AUTH_DATA: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  '10 bytes': Buffer.alloc(10),
  '36 bytes': authData(0x05).subarray(0, 36),
  'user not present': authData(0x00, 1),
  'present and verified, counter 2^32-1': authData(0x05, 0xffffffff),
  'wrong rp id hash': authData(0x05, 1, Buffer.alloc(0), Buffer.alloc(32, 1)),
  'extension flag with garbage': authData(0x85, 1, Buffer.from('ff', 'hex')),
  'CBOR instead': BAD_CBOR['nested 600 deep']!,
};

/** Strings where base64url belongs that are not (or not only) base64url. */
export const BAD_BASE64URL = ['', '=', 'A', 'AAAA====', '!!!!', 'ab+/cd==', 'Zm9v\u0000', ' Zm9v', 'Zm9v\n', 'é', '😀', '..', 'null', 'x'.repeat(12_000)];

export type Bytes =
  | { cbor: string }
  | { authData: string }
  | { utf8: string }
  | { hex: string }
  | { badBase64url: string }
  | { json: fc.JsonValue };
export type ClientData =
  | Bytes
  | {
      clientData: {
        type: 'webauthn.create' | 'webauthn.get' | 'payment.get' | '' | null;
        challenge: 'server' | 'made-up' | 'empty' | 'padded' | 'huge' | 42;
        origin: 'right' | 'other' | 'right-with-slash' | 'http-lookalike' | 'null';
        extra: Record<string, fc.JsonValue> | null;
        crossOrigin: boolean | 'yes' | null;
      };
    };
export interface CredentialRecipe {
  ceremony: 'attestation' | 'assertion';
  id: Bytes | 'same-as-rawId' | 'absent';
  rawId: Bytes | 'absent';
  type: fc.JsonValue | 'absent';
  clientDataJSON: ClientData | 'absent';
  /** attestationObject (attestation) or authenticatorData (assertion). */
  data: Bytes | 'absent';
  signature: Bytes | 'absent';
  userHandle: Bytes | 'absent' | null;
  /** Keys added beside the ones a credential has, at the top or in `response`. */
  extraTop: Array<[string, fc.JsonValue]>;
  extraResponse: Array<[string, fc.JsonValue]>;
  /** A whole credential of a type other than an object: it replaces all of the above. */
  whole?: fc.JsonValue;
}

const bytesArb = (kind: 'cbor' | 'authData' | 'any'): fc.Arbitrary<Bytes> =>
  fc.oneof(
    { weight: kind === 'cbor' ? 6 : 1, arbitrary: fc.record({ cbor: fc.constantFrom(...Object.keys(BAD_CBOR)) }) },
    { weight: kind === 'authData' ? 6 : 1, arbitrary: fc.record({ authData: fc.constantFrom(...Object.keys(BAD_AUTH_DATA)) }) },
    { weight: 2, arbitrary: fc.record({ hex: fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('hex')) }) },
    { weight: 1, arbitrary: fc.record({ utf8: fc.string({ maxLength: 40 }) }) },
    { weight: 3, arbitrary: fc.record({ badBase64url: fc.constantFrom(...BAD_BASE64URL) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        json: fc.oneof(fc.constantFrom<fc.JsonValue>(null, 0, -1, 1e308, true, [], {}, ['AAAA'], { $binary: 'AAAA' }), fc.jsonValue({ maxDepth: 2 })),
      }),
    },
  );

const clientDataArb: fc.Arbitrary<ClientData> = fc.oneof(
  { weight: 2, arbitrary: bytesArb('any') },
  {
    weight: 5,
    arbitrary: fc.record({
      clientData: fc.record({
        type: fc.constantFrom<'webauthn.create' | 'webauthn.get' | 'payment.get' | '' | null>('webauthn.get', 'webauthn.create', 'payment.get', '', null),
        challenge: fc.constantFrom<'server' | 'made-up' | 'empty' | 'padded' | 'huge' | 42>('server', 'server', 'made-up', 'empty', 'padded', 'huge', 42),
        origin: fc.constantFrom<'right' | 'other' | 'right-with-slash' | 'http-lookalike' | 'null'>('right', 'right', 'other', 'right-with-slash', 'http-lookalike', 'null'),
        extra: fc.option(fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'tokenBinding', 'topOrigin', 'x'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })),
        crossOrigin: fc.constantFrom<boolean | 'yes' | null>(false, true, 'yes', null),
      }),
    }),
  },
);

const absentOr = <T>(arb: fc.Arbitrary<T>, absentWeight = 1) =>
  fc.oneof({ weight: 6, arbitrary: arb }, { weight: absentWeight, arbitrary: fc.constant('absent' as const) });

const extraArb: fc.Arbitrary<Array<[string, fc.JsonValue]>> = fc.array(
  fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'publicKey', 'signCount', 'userId', 'x'), fc.jsonValue({ maxDepth: 2 })),
  { maxLength: 2 },
);

export const credentialArb = (ceremony: 'attestation' | 'assertion'): fc.Arbitrary<CredentialRecipe> =>
  fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        ceremony: fc.constant(ceremony),
        id: fc.oneof({ weight: 4, arbitrary: fc.constant('same-as-rawId' as const) }, { weight: 2, arbitrary: absentOr(bytesArb('any')) }),
        rawId: absentOr(bytesArb('any')),
        type: absentOr(fc.constantFrom<fc.JsonValue>('public-key', 'public-key', 'public-key', 'password', 'PUBLIC-KEY', '', 1, null, ['public-key'])),
        clientDataJSON: absentOr(clientDataArb),
        data: absentOr(bytesArb(ceremony === 'attestation' ? 'cbor' : 'authData')),
        signature: absentOr(bytesArb('any'), ceremony === 'attestation' ? 8 : 1),
        userHandle: fc.oneof(absentOr(bytesArb('any')), fc.constant(null)),
        extraTop: fc.oneof({ weight: 4, arbitrary: fc.constant<Array<[string, fc.JsonValue]>>([]) }, { weight: 1, arbitrary: extraArb }),
        extraResponse: fc.oneof({ weight: 4, arbitrary: fc.constant<Array<[string, fc.JsonValue]>>([]) }, { weight: 1, arbitrary: extraArb }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.constantFrom<fc.JsonValue>(null, '', 'public-key', 0, true, [], [{}], {}), fc.jsonValue({ maxDepth: 2 }))
        .map((whole) => ({ ceremony, id: 'absent', rawId: 'absent', type: 'absent', clientDataJSON: 'absent', data: 'absent', signature: 'absent', userHandle: 'absent', extraTop: [], extraResponse: [], whole }) as CredentialRecipe),
    },
  );

export const b64url = (b: Buffer) => b.toString('base64url');

/** An own key, `__proto__` included (plain assignment would set the prototype instead). */
export const put = (o: Record<string, unknown>, k: string, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/** What a recipe's bytes go out as: base64url, or the JSON value in their place. */
function bytesValue(bytes: Bytes): fc.JsonValue {
  if ('cbor' in bytes) return b64url(BAD_CBOR[bytes.cbor]!);
  if ('authData' in bytes) return b64url(BAD_AUTH_DATA[bytes.authData]!);
  if ('hex' in bytes) return b64url(Buffer.from(bytes.hex, 'hex'));
  if ('utf8' in bytes) return b64url(Buffer.from(bytes.utf8, 'utf8'));
  if ('badBase64url' in bytes) return bytes.badBase64url;
  return bytes.json;
}

export interface CredentialContext {
  /** A challenge the server issued (options of the ceremony), or a made-up one when there is none. */
  challenge: string;
  origin: string;
}

/** The credential as a JSON value (an object, unless the recipe replaces it whole). */
export function credentialValue(recipe: CredentialRecipe, ctx: CredentialContext): fc.JsonValue {
  if (recipe.whole !== undefined) return recipe.whole;
  const out: Record<string, fc.JsonValue> = {};
  const response: Record<string, fc.JsonValue> = {};
  const rawId = recipe.rawId === 'absent' ? undefined : bytesValue(recipe.rawId);
  if (recipe.id === 'same-as-rawId') {
    if (rawId !== undefined) out.id = rawId;
  } else if (recipe.id !== 'absent') out.id = bytesValue(recipe.id);
  if (rawId !== undefined) out.rawId = rawId;
  if (recipe.type !== 'absent') out.type = recipe.type;
  if (recipe.clientDataJSON !== 'absent') {
    const cd = recipe.clientDataJSON;
    if ('clientData' in cd) {
      const c = cd.clientData;
      const challenge =
        c.challenge === 'server'
          ? ctx.challenge
          : c.challenge === 'made-up'
            ? b64url(Buffer.alloc(32, 9))
            : c.challenge === 'empty'
              ? ''
              : c.challenge === 'padded'
                ? `${ctx.challenge}==`
                : c.challenge === 'huge'
                  ? 'A'.repeat(6000)
                  : c.challenge;
      const origin = {
        right: ctx.origin,
        other: 'https://evil.example',
        'right-with-slash': `${ctx.origin}/`,
        'http-lookalike': ctx.origin.replace('localhost', 'localhost.evil.example'),
        null: 'null',
      }[c.origin];
      const json = { type: c.type, challenge, origin, crossOrigin: c.crossOrigin, ...c.extra };
      response.clientDataJSON = b64url(Buffer.from(JSON.stringify(json), 'utf8'));
    } else response.clientDataJSON = bytesValue(cd);
  }
  if (recipe.data !== 'absent') response[recipe.ceremony === 'attestation' ? 'attestationObject' : 'authenticatorData'] = bytesValue(recipe.data);
  if (recipe.signature !== 'absent') response.signature = bytesValue(recipe.signature);
  if (recipe.userHandle === null) response.userHandle = null;
  else if (recipe.userHandle !== 'absent') response.userHandle = bytesValue(recipe.userHandle);
  for (const [k, v] of recipe.extraResponse) put(response, k, v);
  out.response = response;
  out.clientExtensionResults = {};
  for (const [k, v] of recipe.extraTop) put(out, k, v);
  return out;
}
