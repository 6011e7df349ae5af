import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The packages as a team gets them: packed (which builds them), each installed from its tarball in
// an empty folder outside this repository, then imported and typechecked there as a consumer would.
// Run: npx vitest run --config test/packages/vitest.config.ts

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const PACKAGES = ['client', 'receiver'] as const;
type Name = (typeof PACKAGES)[number];

// What `npm run`/`npx` put in the environment would make npm act on this repository instead.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !/^(npm_package_|npm_lifecycle_|npm_command$|INIT_CWD$|npm_config_(local_prefix|workspaces?|include_workspace_root)$)/i.test(key),
  ),
);

async function run(command: string, args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, { cwd, env, timeout: 180_000, maxBuffer: 16 << 20 });
    return { stdout, stderr };
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`, { cause: err });
  }
}

const node = (file: string, cwd: string) => run(process.execPath, [file], cwd);
const tsc = (cwd: string) => run(process.execPath, [TSC, '-p', join(cwd, 'tsconfig.json')], cwd);

function writeFiles(dir: string, files: Record<string, string>) {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

const CONSUMERS: Record<Name, { extra: string[]; files: Record<string, string> }> = {
  client: {
    extra: [],
    files: {
      'esm.mjs': `
        import { createAuthClient, AuthError } from '@auth-backend/client';
        const client = createAuthClient({ baseUrl: 'http://127.0.0.1:9' });
        console.log(JSON.stringify({ signedIn: client.signedIn, get: typeof client.api.GET, error: new AuthError(400, 'x').name }));
        client.close();
      `,
      'app.ts': `
        import { createAuthClient, type AuthClient, type paths, type SignedOutReason } from '@auth-backend/client';
        const client: AuthClient = createAuthClient({ baseUrl: 'https://auth.example.com', mode: 'cookie' });
        client.onSignedOut((reason: SignedOutReason) => console.log(reason));
        export async function me(): Promise<unknown> {
          const { data } = await client.api.GET('/api/v1/auth/me');
          return data;
        }
        export type Login = paths['/api/v1/auth/login']['post'];
        // @ts-expect-error not a route of the API
        void client.api.GET('/api/v1/no-such-route');
        // @ts-expect-error the mode is bearer or cookie
        createAuthClient({ baseUrl: 'https://auth.example.com', mode: 'session' });
      `,
      'tsconfig.json': JSON.stringify({
        compilerOptions: { module: 'nodenext', target: 'ES2022', lib: ['ES2023', 'DOM', 'DOM.Iterable'], types: [], strict: true, noEmit: true },
        include: ['app.ts'],
      }),
    },
  },
  receiver: {
    extra: ['@types/node@24'],
    files: {
      'esm.mjs': `
        import { createReceiver, refusalOf, Receiver } from '@auth-backend/receiver';
        import { refuse } from '@auth-backend/receiver/node';
        import { receiverMiddleware } from '@auth-backend/receiver/express';
        import { receiverHook } from '@auth-backend/receiver/fastify';
        import { createReceiverGuard } from '@auth-backend/receiver/nest';
        const receiver = createReceiver({ url: 'http://127.0.0.1:9', clientId: 'svc', clientSecret: 'secret' });
        console.log(JSON.stringify({
          receiver: receiver instanceof Receiver, ended: refusalOf('ended').status,
          adapters: [refuse, receiverMiddleware, receiverHook, createReceiverGuard].map((f) => typeof f),
        }));
        await receiver.close();
      `,
      'cjs.cjs': `
        const { createReceiver, refusalOf, Receiver } = require('@auth-backend/receiver');
        const { refuse } = require('@auth-backend/receiver/node');
        const { receiverMiddleware } = require('@auth-backend/receiver/express');
        const { receiverHook } = require('@auth-backend/receiver/fastify');
        const { createReceiverGuard } = require('@auth-backend/receiver/nest');
        const receiver = createReceiver({ url: 'http://127.0.0.1:9', clientId: 'svc', clientSecret: 'secret' });
        console.log(JSON.stringify({
          receiver: receiver instanceof Receiver, ended: refusalOf('ended').status,
          adapters: [refuse, receiverMiddleware, receiverHook, createReceiverGuard].map((f) => typeof f),
        }));
        receiver.close();
      `,
      'service.mts': `
        import { createServer } from 'node:http';
        import { createReceiver, type ReceiverClaims, type VerifyResult } from '@auth-backend/receiver';
        import { refuse } from '@auth-backend/receiver/node';
        const receiver = createReceiver({ url: 'https://auth.example.com', clientId: 'svc', clientSecret: 'secret', whenStale: 'refuse' });
        createServer(async (req, res) => {
          const result: VerifyResult = await receiver.authenticate(req.headers.authorization);
          if (!result.ok) return refuse(res, result);
          const claims: ReceiverClaims = result.claims;
          res.end(claims.sub);
        });
        // @ts-expect-error whenStale is introspect or refuse
        createReceiver({ url: 'x', clientId: 'a', clientSecret: 'b', whenStale: 'accept' });
      `,
      'service.cts': `
        import { createReceiver, type VerifyResult } from '@auth-backend/receiver';
        import { receiverMiddleware } from '@auth-backend/receiver/express';
        const receiver = createReceiver({ url: 'https://auth.example.com', clientId: 'svc', clientSecret: 'secret' });
        export const middleware = receiverMiddleware(receiver);
        export const check = (header: string): Promise<VerifyResult> => receiver.authenticate(header);
        // @ts-expect-error clientSecret is required
        createReceiver({ url: 'x', clientId: 'a' });
      `,
      'tsconfig.json': JSON.stringify({
        compilerOptions: { module: 'nodenext', target: 'ES2022', lib: ['ES2023'], types: ['node'], strict: true, noEmit: true },
        include: ['service.mts', 'service.cts'],
      }),
    },
  },
};

describe('the packages, packed and installed outside the repository', () => {
  const work = mkdtempSync(join(tmpdir(), 'auth-backend-packages-'));
  const tarballs = {} as Record<Name, string>;
  const consumers = {} as Record<Name, string>;

  beforeAll(async () => {
    expect(relative(ROOT, work).startsWith('..')).toBe(true);
    const packed = join(work, 'packed');
    mkdirSync(packed);
    const { stdout } = await run('npm', ['pack', '--silent', '-w', 'packages/client', '-w', 'packages/receiver', '--pack-destination', packed], ROOT);
    for (const name of PACKAGES) {
      const file = stdout.split('\n').find((line) => line.trim() === `auth-backend-${name}-${version(name)}.tgz`);
      expect(file, `npm pack wrote auth-backend-${name}-${version(name)}.tgz`).toBeDefined();
      tarballs[name] = join(packed, file!.trim());
    }
    for (const name of PACKAGES) {
      const dir = join(work, `${name}-consumer`);
      mkdirSync(dir);
      writeFiles(dir, { 'package.json': JSON.stringify({ name: `${name}-consumer`, private: true }), ...CONSUMERS[name].files });
      await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarballs[name], ...CONSUMERS[name].extra], dir);
      consumers[name] = dir;
    }
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each(PACKAGES)('@auth-backend/%s ships its build, types, README, LICENSE and CHANGELOG, and no specs, sources or test helpers', async (name) => {
    const { stdout } = await run('tar', ['-tzf', tarballs[name]], work);
    const files = stdout.split('\n').filter(Boolean).map((path) => path.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']));
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8'));
    for (const target of Object.values(manifest.exports as Record<string, string | Record<string, string>>)) {
      const paths = typeof target === 'string' ? [target] : Object.values(target);
      expect(files).toEqual(expect.arrayContaining(paths.map((path) => path.replace(/^\.\//, ''))));
    }
    expect(files.filter((path) => /\.spec\.|(^|\/)(src|testing)\/|\.tsbuildinfo$/.test(path))).toEqual([]);
  });

  it('@auth-backend/client imports as an ES module', async () => {
    const { stdout } = await node('esm.mjs', consumers.client);
    expect(JSON.parse(stdout)).toEqual({ signedIn: false, get: 'function', error: 'AuthError' });
  });

  const receiverLoaded = { receiver: true, ended: 401, adapters: ['function', 'function', 'function', 'function'] };

  it('@auth-backend/receiver imports as an ES module, with every subpath', async () => {
    const { stdout } = await node('esm.mjs', consumers.receiver);
    expect(JSON.parse(stdout)).toEqual(receiverLoaded);
  });

  it('@auth-backend/receiver loads with require() from CommonJS, without a warning', async () => {
    const { stdout, stderr } = await node('cjs.cjs', consumers.receiver);
    expect(JSON.parse(stdout)).toEqual(receiverLoaded);
    expect(stderr).toBe('');
  });

  it.each(PACKAGES)('a TypeScript consumer of @auth-backend/%s typechecks against the installed types', async (name) => {
    expect((await tsc(consumers[name])).stdout).toBe('');
  });

  it('npm publish --dry-run accepts both', async () => {
    // The pack above ran the builds (prepack): this checks what publishing adds, not the build again.
    const { stdout } = await run('npm', ['publish', '--dry-run', '--ignore-scripts', '-w', 'packages/client', '-w', 'packages/receiver'], ROOT);
    for (const name of PACKAGES) expect(stdout).toContain(`+ @auth-backend/${name}@${version(name)}`);
  });
});

function version(name: Name): string {
  return JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8')).version;
}
