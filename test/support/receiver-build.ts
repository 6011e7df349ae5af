import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// packages/receiver's dist/ (gitignored), built when it is missing or older than its sources, so
// that a plain `node` process can import '@auth-backend/receiver'.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE = join(ROOT, 'packages', 'receiver');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

let built: Promise<void> | undefined;

/** Builds packages/receiver (tsc) unless dist/index.js is newer than every source file. */
export function ensureReceiverBuilt(): Promise<void> {
  built ??= (async () => {
    const output = join(PACKAGE, 'dist', 'index.js');
    if (existsSync(output) && statSync(output).mtimeMs >= newest(join(PACKAGE, 'src'))) return;
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', join(PACKAGE, 'tsconfig.json')], { cwd: PACKAGE });
  })();
  return built;
}
