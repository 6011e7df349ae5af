import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { introspectionClientsOf, signingKeysOf } from '../auth/auth.config.js';
import { webhookEndpointsOf } from '../webhooks/webhooks.config.js';
import { validateEnv } from './env.validation.js';

const GOOD_SECRET = 'q8Vt2nZr6Lw0Xy4Bk1Hs9Dm3Fp7Jc5Ga';
const MFA_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

function failure(raw: Record<string, unknown>): string {
  try {
    validateEnv(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return (e as Error).message;
  }
  throw new Error(`validateEnv accepted ${JSON.stringify(raw)}`);
}

function expectOneLineNaming(message: string, variable: string) {
  expect(message).not.toMatch(/[\r\n]/);
  expect(message).toMatch(new RegExp(`\\b${variable}\\b`));
  expect(message.length).toBeGreaterThan(variable.length);
}

describe('validateEnv', () => {
  it('applies the contract defaults to an empty environment', () => {
    const env = validateEnv({});
    expect(env.NODE_ENV).toBe('development');
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.PGLITE_DATA_DIR).toBe('./.data/pglite');
    expect(env.JWT_ACCESS_TTL).toBe(900);
    expect(env.JWT_ISSUER).toBe('auth-backend');
    expect(env.JWT_AUDIENCE).toBe('auth-backend-clients');
    expect(env.THROTTLE_LOGOUT_LIMIT).toBe(10);
    expect(env.THROTTLE_LOGOUT_TTL).toBe(60);
    expect(env.THROTTLE_LOGIN_LIMIT).toBe(5);
    expect(env.THROTTLE_LOGIN_TTL).toBe(60);
    expect(env.THROTTLE_FORGOT_RECIPIENT_LIMIT).toBe(3);
    expect(env.THROTTLE_FORGOT_RECIPIENT_TTL).toBe(900);
    expect(env.THROTTLE_INTROSPECTION_FAILURE_LIMIT).toBe(10);
    expect(env.THROTTLE_INTROSPECTION_FAILURE_TTL).toBe(60);
    expect(env.LOG_LEVEL).toBe('info');
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.TRUST_PROXY).toBeUndefined();
    expect(env.LOGOUT_CLEAR_SITE_COOKIES).toBe(false);
  });

  it('converts numbers from strings', () => {
    const env = validateEnv({
      PORT: '8080',
      JWT_ACCESS_TTL: '300',
      THROTTLE_LOGOUT_LIMIT: '20',
      THROTTLE_LOGOUT_TTL: '30',
      THROTTLE_LOGIN_LIMIT: '3',
      THROTTLE_LOGIN_TTL: '120',
    });
    expect(env.PORT).toBe(8080);
    expect(env.JWT_ACCESS_TTL).toBe(300);
    expect(env.THROTTLE_LOGOUT_LIMIT).toBe(20);
    expect(env.THROTTLE_LOGOUT_TTL).toBe(30);
    expect(env.THROTTLE_LOGIN_LIMIT).toBe(3);
    expect(env.THROTTLE_LOGIN_TTL).toBe(120);
  });

  it('DATABASE_POOL_SIZE (default 10, 1 to 1000) and MIGRATIONS_AT_START (default true)', () => {
    expect(validateEnv({})).toMatchObject({ DATABASE_POOL_SIZE: 10, MIGRATIONS_AT_START: true });
    expect(validateEnv({ DATABASE_POOL_SIZE: '25', MIGRATIONS_AT_START: 'false' })).toMatchObject({
      DATABASE_POOL_SIZE: 25,
      MIGRATIONS_AT_START: false,
    });
    for (const [name, value] of [
      ['DATABASE_POOL_SIZE', '0'],
      ['DATABASE_POOL_SIZE', '1001'],
      ['DATABASE_POOL_SIZE', 'many'],
      ['MIGRATIONS_AT_START', 'yes'],
    ]) {
      expect(() => validateEnv({ [name!]: value })).toThrow(new RegExp(`^Invalid configuration: ${name} `));
    }
  });

  it('production needs JWT_SECRET, but not in the migrate command, which signs nothing', () => {
    expect(() => validateEnv({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required/);
    expect(validateEnv({ NODE_ENV: 'production' }, { signsTokens: false }).NODE_ENV).toBe('production');
  });

  it('keeps given strings', () => {
    const env = validateEnv({
      NODE_ENV: 'test',
      DATABASE_URL: 'postgres://app:pw@db:5432/app',
      PGLITE_DATA_DIR: 'memory://',
      JWT_SECRET: GOOD_SECRET,
      JWT_ISSUER: 'iss',
      JWT_AUDIENCE: 'aud',
      LOG_LEVEL: 'warn',
      REDIS_URL: 'redis://cache:6379',
    });
    expect(env).toMatchObject({
      NODE_ENV: 'test',
      DATABASE_URL: 'postgres://app:pw@db:5432/app',
      PGLITE_DATA_DIR: 'memory://',
      JWT_SECRET: GOOD_SECRET,
      JWT_ISSUER: 'iss',
      JWT_AUDIENCE: 'aud',
      LOG_LEVEL: 'warn',
      REDIS_URL: 'redis://cache:6379',
    });
  });

  it('accepts postgresql:// too', () => {
    expect(validateEnv({ DATABASE_URL: 'postgresql://localhost/app' }).DATABASE_URL).toBe('postgresql://localhost/app');
  });

  describe('JWT_SECRET', () => {
    it('production without it throws one line naming JWT_SECRET', () => {
      expectOneLineNaming(failure({ NODE_ENV: 'production' }), 'JWT_SECRET');
    });

    it('production with a blank one throws naming JWT_SECRET', () => {
      expectOneLineNaming(failure({ NODE_ENV: 'production', JWT_SECRET: '' }), 'JWT_SECRET');
      expectOneLineNaming(failure({ NODE_ENV: 'production', JWT_SECRET: ' '.repeat(40) }), 'JWT_SECRET');
    });

    it('production with a 31-character secret throws naming JWT_SECRET', () => {
      expectOneLineNaming(failure({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET.slice(0, 31) }), 'JWT_SECRET');
    });

    it('production with a placeholder-looking secret throws naming JWT_SECRET', () => {
      const secret = 'changeme'.padEnd(40, 'x');
      expect(secret).toHaveLength(40);
      expectOneLineNaming(failure({ NODE_ENV: 'production', JWT_SECRET: secret }), 'JWT_SECRET');
      expectOneLineNaming(
        failure({ NODE_ENV: 'production', JWT_SECRET: 'my-JWT-SECRET-for-prod-0123456789abcdef' }),
        'JWT_SECRET',
      );
    });

    it('production without SMTP_URL starts, but not with REQUIRE_EMAIL_VERIFICATION, which needs mail to let anyone in', () => {
      expect(validateEnv({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, MFA_ENCRYPTION_KEY }).SMTP_URL).toBeUndefined();
      expectOneLineNaming(failure({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, MFA_ENCRYPTION_KEY, REQUIRE_EMAIL_VERIFICATION: 'true' }), 'SMTP_URL');
      expectOneLineNaming(failure({ SMTP_URL: 'http://mail.example.com' }), 'SMTP_URL');
    });

    it('production with a random 32-character secret starts, using it', () => {
      const env = validateEnv({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, MFA_ENCRYPTION_KEY, SMTP_URL: 'smtp://mail.example.com:587' });
      expect(env.JWT_SECRET).toBe(GOOD_SECRET);
      expect(env.jwtSecretGenerated).toBe(false);
    });

    it('development without one generates a random 32+ character secret, and says so for main.ts to warn', () => {
      const first = validateEnv({ NODE_ENV: 'development' });
      const a = first.JWT_SECRET!;
      const b = validateEnv({}).JWT_SECRET!;
      expect(typeof a).toBe('string');
      expect(a.length).toBeGreaterThanOrEqual(32);
      expect(b.length).toBeGreaterThanOrEqual(32);
      expect(a).not.toBe(b);
      expect(first.jwtSecretGenerated).toBe(true);
      expect(validateEnv({ JWT_SECRET: 'x'.repeat(40) }).jwtSecretGenerated).toBe(false);
    });

    it('development with a blank one generates a secret too', () => {
      expect(validateEnv({ JWT_SECRET: '' }).JWT_SECRET!.length).toBeGreaterThanOrEqual(32);
    });
  });

  describe('MFA_ENCRYPTION_KEY', () => {
    it('outside production, unset: derived from JWT_SECRET, so instances sharing the secret share the key; main.ts warns', () => {
      const a = validateEnv({ JWT_SECRET: GOOD_SECRET });
      expect(a.mfaKeyGenerated).toBe(true);
      expect(Buffer.from(a.MFA_ENCRYPTION_KEY!, 'base64')).toHaveLength(32);
      expect(validateEnv({ JWT_SECRET: GOOD_SECRET }).MFA_ENCRYPTION_KEY).toBe(a.MFA_ENCRYPTION_KEY);
      expect(validateEnv({ JWT_SECRET: `${GOOD_SECRET}x` }).MFA_ENCRYPTION_KEY).not.toBe(a.MFA_ENCRYPTION_KEY);
    });

    it('in production, unset: never made up (TOTP answers 503 until it is set); set: used as given', () => {
      const unset = validateEnv({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET });
      expect(unset.MFA_ENCRYPTION_KEY).toBeUndefined();
      expect(unset.mfaKeyGenerated).toBe(false);
      expect(validateEnv({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, MFA_ENCRYPTION_KEY }).MFA_ENCRYPTION_KEY).toBe(MFA_ENCRYPTION_KEY);
    });

    it.each([['c2hvcnQ='], ['not base64 at all!'], [Buffer.alloc(33).toString('base64')]])('%s: one line naming MFA_ENCRYPTION_KEY', (value) => {
      expectOneLineNaming(failure({ MFA_ENCRYPTION_KEY: value }), 'MFA_ENCRYPTION_KEY');
    });

    it('MFA_PREVIOUS_ENCRYPTION_KEYS with a key that is not 32 bytes: one line naming it', () => {
      expectOneLineNaming(failure({ MFA_PREVIOUS_ENCRYPTION_KEYS: `${MFA_ENCRYPTION_KEY},c2hvcnQ=` }), 'MFA_PREVIOUS_ENCRYPTION_KEYS');
    });
  });

  describe('invalid values stop the start with one line naming the variable', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['DATABASE_URL', 'mysql://db/app'],
      ['DATABASE_URL', 'localhost:5432'],
      ['JWT_ACCESS_TTL', '0'],
      ['JWT_ACCESS_TTL', 'fifteen minutes'],
      ['THROTTLE_LOGOUT_LIMIT', 'ten'],
      ['THROTTLE_LOGOUT_TTL', '0'],
      ['THROTTLE_LOGIN_LIMIT', '-5'],
      ['THROTTLE_LOGIN_TTL', 'x'],
      ['THROTTLE_FORGOT_RECIPIENT_LIMIT', '0'],
      ['THROTTLE_FORGOT_RECIPIENT_TTL', '86401'],
      ['THROTTLE_INTROSPECTION_FAILURE_LIMIT', 'many'],
      ['THROTTLE_INTROSPECTION_FAILURE_TTL', '0'],
      ['LOG_LEVEL', 'verbose'],
      ['NODE_ENV', 'staging'],
      ['REDIS_URL', 'http://cache:6379'],
      ['TRUST_PROXY', 'yes please'],
      ['TRUST_PROXY', 'foo'],
      ['TRUST_PROXY', '10.0.0.1/8x'],
      ['METRICS_ENABLED', 'yes'],
      ['METRICS_ENABLED', '1'],
      ['LOGOUT_CLEAR_SITE_COOKIES', 'yes'],
      ['METRICS_PORT', '70000'],
      ['METRICS_PORT', 'metrics'],
    ])('%s=%j', (variable, value) => {
      const message = failure({ [variable]: value });
      expectOneLineNaming(message, variable);
      expect(message).toMatch(/^Invalid configuration: /);
    });
  });

  it.each(['1', 'true', 'loopback', '127.0.0.1', 'loopback, 10.0.0.0/8', 'fe80::/10, uniquelocal'])(
    'accepts TRUST_PROXY=%j, as Express takes it',
    (value) => {
      expect(validateEnv({ TRUST_PROXY: value }).TRUST_PROXY).toBe(value);
    },
  );

  describe('METRICS_ENABLED / METRICS_PORT', () => {
    it('are off, on 9464, by default', () => {
      const env = validateEnv({});
      expect(env.METRICS_ENABLED).toBe(false);
      expect(env.METRICS_PORT).toBe(9464);
    });

    it.each([
      ['true', true],
      ['FALSE', false],
      ['', false],
    ])('METRICS_ENABLED=%j is %s', (value, expected) => {
      expect(validateEnv({ METRICS_ENABLED: value }).METRICS_ENABLED).toBe(expected);
    });

    it('refuses, enabled, the public port, in one line naming METRICS_PORT', () => {
      expectOneLineNaming(failure({ METRICS_ENABLED: 'true', PORT: '8080', METRICS_PORT: '8080' }), 'METRICS_PORT');
      expectOneLineNaming(failure({ METRICS_ENABLED: 'true', METRICS_PORT: '3000' }), 'METRICS_PORT');
    });

    it('lets the same port through while disabled, and two zeros (each a free port) enabled', () => {
      expect(validateEnv({ PORT: '9464' }).METRICS_PORT).toBe(9464);
      expect(validateEnv({ METRICS_ENABLED: 'true', PORT: '0', METRICS_PORT: '0' }).METRICS_PORT).toBe(0);
    });
  });

  describe('blank values mean unset', () => {
    it.each([
      ['PORT', 3000],
      ['JWT_ACCESS_TTL', 900],
      ['JWT_ISSUER', 'auth-backend'],
      ['JWT_AUDIENCE', 'auth-backend-clients'],
      ['THROTTLE_LOGOUT_LIMIT', 10],
      ['THROTTLE_LOGOUT_TTL', 60],
      ['THROTTLE_LOGIN_LIMIT', 5],
      ['THROTTLE_LOGIN_TTL', 60],
      ['PGLITE_DATA_DIR', './.data/pglite'],
      ['LOG_LEVEL', 'info'],
      ['NODE_ENV', 'development'],
    ])('%s="" takes the default', (variable, expected) => {
      const env = validateEnv({ [variable]: '' }) as unknown as Record<string, unknown>;
      expect(env[variable]).toBe(expected);
    });

    it.each(['DATABASE_URL', 'REDIS_URL', 'TRUST_PROXY'])('%s="" stays unset', (variable) => {
      const env = validateEnv({ [variable]: '' }) as unknown as Record<string, unknown>;
      expect(env[variable]).toBeUndefined();
    });

    it('a whole .env of blanks is the default configuration', () => {
      const blanks = {
        PORT: '',
        DATABASE_URL: '',
        JWT_SECRET: '',
        JWT_ACCESS_TTL: '',
        THROTTLE_LOGOUT_LIMIT: '',
        THROTTLE_LOGOUT_TTL: '',
        REDIS_URL: '',
        TRUST_PROXY: '',
      };
      const env = validateEnv(blanks);
      expect(env.PORT).toBe(3000);
      expect(env.JWT_ACCESS_TTL).toBe(900);
      expect(env.THROTTLE_LOGOUT_LIMIT).toBe(10);
      expect(env.THROTTLE_LOGOUT_TTL).toBe(60);
      expect(env.DATABASE_URL).toBeUndefined();
    });
  });

  describe('signing keys, introspection clients, webhook endpoints', () => {
    const ed = generateKeyPairSync('ed25519');
    const edPrivate = ed.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const edPublic = ed.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

    it('JWT_ALGORITHM is HS256 unless EdDSA; anything else stops the start', () => {
      expect(validateEnv({}).JWT_ALGORITHM).toBe('HS256');
      expectOneLineNaming(failure({ JWT_ALGORITHM: 'RS256' }), 'JWT_ALGORITHM');
      expectOneLineNaming(failure({ JWT_ALGORITHM: 'none' }), 'JWT_ALGORITHM');
    });

    it('EdDSA in production needs JWT_PRIVATE_KEY; elsewhere one is generated, and main.ts warns', () => {
      expectOneLineNaming(failure({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, MFA_ENCRYPTION_KEY, JWT_ALGORITHM: 'EdDSA' }), 'JWT_PRIVATE_KEY');
      const dev = validateEnv({ JWT_ALGORITHM: 'EdDSA' });
      expect(dev.jwtPrivateKeyGenerated).toBe(true);
      expect(signingKeysOf(dev).privateKey.asymmetricKeyType).toBe('ed25519');
      const prod = validateEnv({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, MFA_ENCRYPTION_KEY, JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: edPrivate });
      expect(prod.jwtPrivateKeyGenerated).toBe(false);
    });

    it('takes PEM with real line breaks or with \\n, and refuses what is not an Ed25519 key', () => {
      expect(() => validateEnv({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: edPrivate.replace(/\n/g, '\\n') })).not.toThrow();
      expectOneLineNaming(failure({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: rsa }), 'JWT_PRIVATE_KEY');
      expectOneLineNaming(failure({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: 'not a key' }), 'JWT_PRIVATE_KEY');
      expectOneLineNaming(failure({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: edPublic }), 'JWT_PRIVATE_KEY');
    });

    it('JWT_PREVIOUS_PUBLIC_KEYS: Ed25519 public keys one after the other; anything else stops the start', () => {
      const env = validateEnv({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: edPrivate, JWT_PREVIOUS_PUBLIC_KEYS: edPublic + edPublic });
      expect(signingKeysOf(env).previousPublicKeys).toHaveLength(2);
      expectOneLineNaming(failure({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: edPrivate, JWT_PREVIOUS_PUBLIC_KEYS: `${edPublic} trailing` }), 'JWT_PREVIOUS_PUBLIC_KEYS');
      expectOneLineNaming(failure({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: edPrivate, JWT_PREVIOUS_PUBLIC_KEYS: edPrivate }), 'JWT_PREVIOUS_PUBLIC_KEYS');
    });

    it('INTROSPECTION_CLIENTS: id:secret pairs; the secret may hold a colon', () => {
      expect(introspectionClientsOf({ INTROSPECTION_CLIENTS: `a:${GOOD_SECRET}, b:two:${GOOD_SECRET}` })).toStrictEqual([
        { id: 'a', secret: GOOD_SECRET },
        { id: 'b', secret: `two:${GOOD_SECRET}` },
      ]);
      expectOneLineNaming(failure({ INTROSPECTION_CLIENTS: 'no-secret' }), 'INTROSPECTION_CLIENTS');
      expectOneLineNaming(failure({ INTROSPECTION_CLIENTS: ':secret' }), 'INTROSPECTION_CLIENTS');
      expectOneLineNaming(failure({ INTROSPECTION_CLIENTS: 'id:' }), 'INTROSPECTION_CLIENTS');
    });

    it('INTROSPECTION_CLIENTS: a secret under 32 characters stops the start, naming its client and not the secret', () => {
      const short = GOOD_SECRET.slice(0, 31);
      const message = failure({ INTROSPECTION_CLIENTS: `billing:${GOOD_SECRET},search:${short}` });
      expectOneLineNaming(message, 'INTROSPECTION_CLIENTS');
      expect(message).toBe('Invalid configuration: INTROSPECTION_CLIENTS secret of client "search" must be at least 32 characters');
      expect(failure({ INTROSPECTION_CLIENTS: 'svc:abc' })).toContain('client "svc"');
      expect(() => validateEnv({ INTROSPECTION_CLIENTS: `search:${GOOD_SECRET}` })).not.toThrow();
    });

    it('ADMIN_TOKENS: each of 32+ characters, or the start stops', () => {
      expectOneLineNaming(failure({ ADMIN_PORT: '3001', ADMIN_TOKENS: `${GOOD_SECRET},${GOOD_SECRET.slice(1)}` }), 'ADMIN_TOKENS');
      expect(() => validateEnv({ ADMIN_PORT: '3001', ADMIN_TOKENS: GOOD_SECRET })).not.toThrow();
    });

    it('WEBHOOK_ENDPOINTS: url|whsec_ pairs, each URL once', () => {
      const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
      expect(webhookEndpointsOf({ WEBHOOK_ENDPOINTS: `https://a.example/hook|${secret}` })).toStrictEqual([{ url: 'https://a.example/hook', secret }]);
      expectOneLineNaming(failure({ WEBHOOK_ENDPOINTS: 'https://a.example/hook' }), 'WEBHOOK_ENDPOINTS');
      expectOneLineNaming(failure({ WEBHOOK_ENDPOINTS: `ftp://a.example|${secret}` }), 'WEBHOOK_ENDPOINTS');
      expectOneLineNaming(failure({ WEBHOOK_ENDPOINTS: 'https://a.example|secret' }), 'WEBHOOK_ENDPOINTS');
      expectOneLineNaming(failure({ WEBHOOK_ENDPOINTS: `https://a.example|${secret},https://a.example|${secret}` }), 'WEBHOOK_ENDPOINTS');
    });
  });
});
