import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { spawnCaptured } from './captured-process.js';
import { compileFile, sources } from './compile.js';
import { freePort } from './ports.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Inside the project, so the compiled files resolve packages from its node_modules.
const OUT = join(ROOT, 'node_modules', '.cache', 'auth-backend-e2e');

let compiled: Promise<string> | undefined;

/** The server compiled once per test run with SWC (as vitest compiles it), decorator metadata included. */
function compileServer(): Promise<string> {
  compiled ??= (async () => {
    for (const folder of ['src', 'migrations']) {
      for await (const file of sources(join(ROOT, folder))) {
        await compileFile(file, join(OUT, relative(ROOT, file)).replace(/\.ts$/, '.js'));
      }
    }
    return join(OUT, 'src', 'main.js');
  })();
  return compiled;
}

export interface ServerProcess {
  url: string;
  /** The OS process id, for reading its memory in /proc. */
  pid: number;
  http: () => ReturnType<typeof request>;
  /** Everything the process wrote to stdout and stderr so far. */
  output: () => string;
  stop: () => Promise<void>;
  /** The exit code once the process has exited (null while it runs, or when a signal ended it). */
  exitCode: () => number | null;
  /** Sends the process `signal` (SIGKILL: a crash, nothing cleaned up) and waits until it exits. */
  kill: (signal: NodeJS.Signals) => Promise<void>;
  /** Sends the process `signal` without waiting; `exited` resolves with the exit code. */
  signal: (signal: NodeJS.Signals) => void;
  exited: Promise<number | null>;
}

/** The entry points of the compiled server: `main` serves, `migrate` applies migrations and exits. */
export type Entry = 'main' | 'migrate';

/** `node <entry>.js` with a test environment, in a folder without `.env`, its output captured. */
async function spawnServer(env: Record<string, string>, entry: Entry = 'main') {
  const main = await compileServer();
  const port = await freePort();
  const { child, exited, output } = spawnCaptured(process.execPath, [join(dirname(main), `${entry}.js`)], OUT /* no .env here */, {
    PORT: String(port),
    THROTTLE_LOGOUT_LIMIT: '1000',
    THROTTLE_LOGIN_LIMIT: '1000',
    ...env,
  });
  return { child, port, exited, output };
}

/**
 * The server as its own OS process, for tests where two instances must share nothing but the
 * database, or that read its logs.
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const { child, port, exited, output } = await spawnServer(env);
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`server process exited with ${child.exitCode} before answering:\n${output()}`);
    }
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server process did not answer /health within 45 s:\n${output()}`);
    }
    await sleep(200);
  }

  return {
    url,
    pid: child.pid!,
    http: () => request(url),
    output,
    exitCode: () => child.exitCode,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    },
    kill: async (signal) => {
      child.kill(signal);
      await exited;
    },
    signal: (signal) => void child.kill(signal),
    exited,
  };
}

/** Runs an entry point to its end (the server, when it refuses to start): its exit code and output. */
export async function runUntilExit(env: Record<string, string>, entry: Entry = 'main'): Promise<{ code: number | null; output: string }> {
  const { child, exited, output } = await spawnServer(env, entry);
  const code = await Promise.race([exited, sleep(30_000).then(() => (child.kill('SIGKILL'), null))]);
  return { code, output: output() };
}
