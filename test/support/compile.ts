import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { transform } from '@swc/core';

// TypeScript compiled by SWC as vitest compiles it (decorator metadata included), for tests that
// run `node` on the output.

export async function* sources(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) yield path;
  }
}

/** `file` compiled to `target` (a .js path), its source passed through `edit` first. */
export async function compileFile(file: string, target: string, edit = (source: string) => source): Promise<void> {
  const { code } = await transform(edit(await readFile(file, 'utf8')), {
    filename: file,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'es6' },
  });
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, code);
}
