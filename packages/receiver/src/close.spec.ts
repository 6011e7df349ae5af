import { spawn } from 'node:child_process';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAuthServer, type FakeAuthServer } from './testing/fake-auth-server.js';

const CHILD = fileURLToPath(new URL('./testing/close-child.mjs', import.meta.url));

/** Runs the child to its natural exit; kills it if it outlives `limitMs`. */
function runChild(
  env: Record<string, string>,
  limitMs: number,
  onReady: () => void = () => {},
): Promise<{ code: number | null; stdout: string; stderr: string; exitedAt: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--experimental-transform-types', '--no-warnings', CHILD], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const wasReady = stdout.includes('ready\n');
      stdout += chunk;
      if (!wasReady && stdout.includes('ready\n')) onReady();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, exitedAt: Date.now() });
    });
  });
}

// The child runs the TypeScript sources: it needs Node's type stripping and module.registerHooks (Node 22.15+).
describe.skipIf(typeof (nodeModule as { registerHooks?: unknown }).registerHooks !== 'function')('close()', () => {
  let fake: FakeAuthServer;
  beforeEach(async () => {
    fake = await startFakeAuthServer();
  });
  afterEach(() => fake.close());

  const env = async () => ({ URL: fake.url, CLIENT_ID: fake.clientId, CLIENT_SECRET: fake.clientSecret, TOKEN: await fake.sign() });

  it('leaves no handle: the process exits right after it', async () => {
    const { code, stdout, stderr, exitedAt } = await runChild(await env(), 20_000);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout.split('\n').at(-2)!) as { first: { ok: boolean; via: string }; closedAt: number };
    expect(report.first).toMatchObject({ ok: true, via: 'local' });
    expect(exitedAt - report.closedAt).toBeLessThan(2000);
    // The stream was open until close(): the server saw it go.
    await expect.poll(() => fake.connectedStreams()).toBe(0);
  }, 30_000);

  it('ends an introspection under way, which then refuses', async () => {
    const vars = await env();
    fake.introspection.delayMs = 60_000;
    const { code, stdout, stderr, exitedAt } = await runChild({ ...vars, MODE: 'introspecting' }, 20_000, () => (fake.heartbeats = false));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout.split('\n').at(-2)!) as { second: unknown; closedAt: number };
    expect(report.second).toEqual({ ok: false, reason: 'unavailable' });
    expect(exitedAt - report.closedAt).toBeLessThan(2000);
  }, 30_000);
});
