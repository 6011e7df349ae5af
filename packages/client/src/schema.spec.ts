import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The client's types are generated from the committed openapi.json (which a test of the server
// keeps equal to the served document): this keeps them equal to what the generator makes of it.

describe('the generated types', () => {
  it('are what openapi-typescript makes of openapi.json now: `npm run generate -w packages/client` writes them again', () => {
    const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
    const cli = join(dirname(createRequire(import.meta.url).resolve('openapi-typescript/package.json')), 'bin/cli.js');
    const out = join(mkdtempSync(join(tmpdir(), 'client-schema-')), 'schema.ts');
    execFileSync(process.execPath, [cli, here('../../../openapi.json'), '--output', out], { stdio: 'pipe' });
    expect(readFileSync(here('./schema.ts'), 'utf8')).toBe(readFileSync(out, 'utf8'));
  });
});
