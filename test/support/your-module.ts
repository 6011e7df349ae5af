import { copyFile, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFile, sources } from './compile.js';

// The docs' example module (test/e2e/your-module/) where docs/extending.md has a team put it:
// its files in src/notes/, its app.parts.ts as src/app.parts.ts; and a clone of the project so
// composed, compiled as `nest build` lays it out (dist/src, dist/migrations, dist/ormconfig.js).

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const YOUR_MODULE = join(ROOT, 'test', 'e2e', 'your-module');
// Inside the project, so the compiled files resolve packages from its node_modules.
const CLONE = join(ROOT, 'node_modules', '.cache', 'auth-backend-your-module');

/** The example module's files, app.parts.ts included. */
export async function yourModuleFiles(): Promise<string[]> {
  return (await readdir(YOUR_MODULE)).filter((name) => name.endsWith('.ts')).map((name) => join(YOUR_MODULE, name));
}

/** A file's path in a team's clone, relative to its root. */
export function placeInClone(file: string): string {
  if (dirname(file) !== YOUR_MODULE) return relative(ROOT, file);
  return basename(file) === 'app.parts.ts' ? join('src', 'app.parts.ts') : join('src', 'notes', basename(file));
}

/** `source` of the example module's `file` with its relative imports as they read in the clone. */
export function asInClone(file: string, source: string): string {
  const from = dirname(placeInClone(file));
  return source.replace(/(['"])(\.\.?\/[^'"\n]+?)\.js\1/g, (_match, quote: string, specifier: string) => {
    const target = dirname(placeInClone(`${resolve(dirname(file), specifier)}.ts`));
    const path = relative(from, join(target, basename(specifier)));
    return `${quote}${path.startsWith('.') ? path : `./${path}`}.js${quote}`;
  });
}

let built: Promise<string> | undefined;

/** The project with the example module composed in, compiled once per run; its root folder. */
export function composedClone(): Promise<string> {
  built ??= (async () => {
    await rm(CLONE, { recursive: true, force: true });
    const compile = (file: string, edit?: (source: string) => string) =>
      compileFile(file, join(CLONE, 'dist', placeInClone(file)).replace(/\.ts$/, '.js'), edit);
    for (const folder of ['src', 'migrations']) {
      for await (const file of sources(join(ROOT, folder))) await compile(file);
    }
    await compile(join(ROOT, 'ormconfig.ts'));
    for (const file of await yourModuleFiles()) await compile(file, (source) => asInClone(file, source));
    await copyFile(join(ROOT, 'package.json'), join(CLONE, 'package.json'));
    return CLONE;
  })();
  return built;
}
