import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));
// What every feature stands on: the pool (and the entity list for the migration generator), the
// error table, the HTTP plumbing, the configuration.
const FOUNDATIONS = new Set(['database', 'errors', 'http', 'config']);

const folderOf = (file: string) => relative(SRC, file).split('/')[0]!;

function featureImports(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const entry of readdirSync(SRC, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.ts') || entry.endsWith('.spec.ts') || !entry.includes('/')) continue;
    const file = join(SRC, entry);
    const from = folderOf(file);
    for (const [, target] of readFileSync(file, 'utf8').matchAll(/\bfrom '(\.[^']+)'/g)) {
      const to = folderOf(resolve(dirname(file), target!));
      if (from === to || FOUNDATIONS.has(from) || FOUNDATIONS.has(to)) continue;
      graph.set(from, (graph.get(from) ?? new Set()).add(to));
    }
  }
  return graph;
}

function cycleIn(graph: Map<string, Set<string>>): string[] | undefined {
  const done = new Set<string>();
  const visit = (folder: string, path: string[]): string[] | undefined => {
    if (path.includes(folder)) return [...path.slice(path.indexOf(folder)), folder];
    if (done.has(folder)) return undefined;
    for (const next of graph.get(folder) ?? []) {
      const cycle = visit(next, [...path, folder]);
      if (cycle) return cycle;
    }
    done.add(folder);
    return undefined;
  };
  for (const folder of graph.keys()) {
    const cycle = visit(folder, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('feature folders', () => {
  it('import each other without a cycle', () => {
    const graph = featureImports();
    expect(graph.get('accounts')).toContain('auth');
    expect(cycleIn(graph)).toBeUndefined();
  });

  it('the check finds a cycle when there is one', () => {
    expect(cycleIn(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])]]))).toEqual(['a', 'b', 'c', 'a']);
  });
});
