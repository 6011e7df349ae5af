import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { getOptionsToken, type ThrottlerModuleOptions, type ThrottlerOptions } from '@nestjs/throttler';
import { getMetadataStorage } from 'class-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminController } from '../../src/admin/admin.controller.js';
import { AUDIT_EVENTS } from '../../src/audit/audit-event.js';
import { IntrospectionClientGuard } from '../../src/auth/introspection-client.guard.js';
import { validateEnv } from '../../src/config/env.validation.js';
import { RATE_LIMIT } from '../../src/rate-limit/rate-limit.decorator.js';
import { END_REASONS } from '../../src/sessions/end-reason.js';
import { startApp, type TestApp } from '../support/app.js';
import { docsFile, sectionOf, tableOf, ticked } from '../support/markdown.js';

// The reference tables of docs/ against the code they describe: adding a variable, an audit
// event, a route or a limit to one side only fails here.

type Json = Record<string, any>;

/** The limit counted by IntrospectionClientGuard, not a throttler: its name in metrics and storage. */
const CLIENT_LIMIT = 'introspection_client';
const openapi: Json = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8'));

/** `POST /api/v1/auth/sessions/{id}` → `POST /api/v1/auth/sessions/:id`. */
const routeOf = (method: string, path: string) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;

/** Every operation of openapi.json, by route, with its operation id (the handler's name). */
const OPERATIONS = new Map(
  Object.entries(openapi.paths as Json).flatMap(([path, ops]) => Object.entries(ops as Json).map(([method, op]) => [routeOf(method, path), op.operationId as string])),
);

/** The variables the code reads: those with a default, and every one the validation declares. */
function variablesOfCode(): Map<string, unknown> {
  const env = validateEnv({}) as unknown as Record<string, unknown>;
  const names = new Set(Object.keys(env).filter((name) => /^[A-Z][A-Z0-9_]+$/.test(name)));
  const storage = getMetadataStorage() as unknown as { validationMetadatas: Map<unknown, { propertyName: string }[]> };
  for (const metadatas of storage.validationMetadatas.values()) {
    for (const { propertyName } of metadatas) if (/^[A-Z][A-Z0-9_]+$/.test(propertyName)) names.add(propertyName);
  }
  return new Map([...names].map((name) => [name, env[name]]));
}

describe('docs/configuration.md and .env.example name every variable validateEnv reads, with its default', () => {
  const documented = new Map<string, string>();
  for (const row of tableOf(docsFile('docs/configuration.md'), 'variable')) {
    const names = ticked(row[0]!);
    const defaults = names.length > 1 ? row[1]!.split(' / ') : [row[1]!];
    expect(defaults.length, `defaults of ${row[0]}`).toBe(names.length);
    names.forEach((name, i) => documented.set(name, defaults[i]!.trim()));
  }
  const code = variablesOfCode();

  it('the same variables in the table as in the code', () => {
    expect([...documented.keys()].sort()).toStrictEqual([...code.keys()].sort());
  });

  it('each default as validateEnv({}) gives it', () => {
    // A second run tells a value made up at each start from a default.
    const again = validateEnv({}) as unknown as Record<string, unknown>;
    for (const [name, cell] of documented) {
      const value = code.get(name);
      const text = cell.replace(/`/g, '');
      if (/^(random|generated)/.test(text)) expect(value === undefined || value !== again[name], `${name} is made up at start`).toBe(true);
      else if (value === undefined) expect(text, name).toMatch(/^unset/);
      else expect(text.startsWith(String(value)) && !/^\d/.test(text.slice(String(value).length)), `${name}: documented "${cell}", code ${String(value)}`).toBe(true);
    }
  });

  it('.env.example lists the same variables', () => {
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const names = [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    expect([...new Set(names)].sort()).toStrictEqual([...code.keys()].sort());
  });
});

describe('docs/api.md names every audit event and every way a session ends', () => {
  const api = docsFile('docs/api.md');

  it('the audit events table lists AUDIT_EVENTS, no more, no fewer', () => {
    const events = tableOf(sectionOf(api, 'Audit events'), 'event').map((row) => ticked(row[0]!)[0]);
    expect([...events].sort()).toStrictEqual([...AUDIT_EVENTS].sort());
  });

  it('the end reasons table lists END_REASONS with their audit events, and the two timeouts', () => {
    const rows = tableOf(sectionOf(api, 'How a session ends'), '`endReason`');
    const documented = Object.fromEntries(rows.map((row) => [ticked(row[0]!)[0], ticked(row[2]!)[0] ?? null]));
    const code = Object.fromEntries(Object.entries(END_REASONS).map(([reason, { event }]) => [reason, event as string | null]));
    expect(documented).toStrictEqual({ ...code, idle_timeout: null, expired: null });
  });
});

describe('docs/api.md lists every route of openapi.json, and the rate limits the code applies', () => {
  let t: TestApp;
  // Distinct values, so that each documented variable is seen to set its own limit.
  const settings = {
    THROTTLE_LOGOUT_LIMIT: '101',
    THROTTLE_LOGOUT_TTL: '201',
    THROTTLE_LOGIN_LIMIT: '102',
    THROTTLE_LOGIN_TTL: '202',
    THROTTLE_REFRESH_LIMIT: '103',
    THROTTLE_REFRESH_TTL: '203',
    THROTTLE_FORGOT_RECIPIENT_LIMIT: '104',
    THROTTLE_FORGOT_RECIPIENT_TTL: '204',
    THROTTLE_INTROSPECTION_FAILURE_LIMIT: '2',
    THROTTLE_INTROSPECTION_FAILURE_TTL: '205',
  };
  const api = docsFile('docs/api.md');
  /** The routes table: route → the limits its rate-limit cell names, in order. */
  const routes = new Map(tableOf(sectionOf(api, 'Routes'), 'route').map((row) => [ticked(row[0]!)[0]!, ticked(row[2]!)]));
  /** The rate limits table: name → { routes, default, variables }. */
  const limits = new Map(
    tableOf(sectionOf(api, 'Rate limits'), 'limit').map((row) => [
      ticked(row[0]!)[0]!,
      { routes: ticked(row[1]!).filter((span) => /^[A-Z]+ \//.test(span)), default: row[3]!, variables: ticked(row[4]!) },
    ]),
  );

  beforeAll(async () => {
    t = await startApp({ ...settings, INTROSPECTION_CLIENTS: 'billing:0123456789abcdef0123456789abcdef' });
  });
  afterAll(() => t?.close());

  it('one row per operation of openapi.json, no more, no fewer', () => {
    expect([...routes.keys()].sort()).toStrictEqual([...OPERATIONS.keys()].sort());
  });

  /** Each handler of the app, by its name: the limits it is counted by, in order. */
  function limitsOfHandlers(): Map<string, string[]> {
    const found = new Map<string, string[]>();
    for (const module of t.app.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) {
        const controller = wrapper.metatype as unknown as { prototype: Record<string, (...args: unknown[]) => unknown> };
        const classGuards: unknown[] = Reflect.getMetadata(GUARDS_METADATA, controller) ?? [];
        for (const name of Object.getOwnPropertyNames(controller.prototype)) {
          const handler = controller.prototype[name]!;
          if (name === 'constructor' || Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
          const guards: unknown[] = [...classGuards, ...(Reflect.getMetadata(GUARDS_METADATA, handler) ?? [])];
          const named: string[] = [...(Reflect.getMetadata(RATE_LIMIT, handler) ?? [])];
          if (guards.includes(IntrospectionClientGuard)) named.push(CLIENT_LIMIT);
          found.set(name, named);
        }
      }
    }
    return found;
  }

  it("each route's rate-limit cell names the limits its handler is counted by, in order", () => {
    const handlers = limitsOfHandlers();
    for (const [route, operationId] of OPERATIONS) {
      expect(handlers.has(operationId), `${route}: handler ${operationId}`).toBe(true);
      expect(routes.get(route), route).toStrictEqual(handlers.get(operationId));
    }
  });

  it('the limits table lists, for each limit, the routes whose row names it', () => {
    for (const [name, row] of limits) {
      const counted = [...routes].filter(([, named]) => named.includes(name)).map(([route]) => route);
      expect(row.routes.sort(), name).toStrictEqual(counted.sort());
    }
  });

  it('the limits table names every limit of the code, with its default and the variables that set it', async () => {
    const throttlers = (t.app.get(getOptionsToken()) as ThrottlerModuleOptions & { throttlers: ThrottlerOptions[] }).throttlers;
    expect([...limits.keys()].sort()).toStrictEqual([...throttlers.map((th) => th.name!), CLIENT_LIMIT].sort());
    const defaults = validateEnv({}) as unknown as Record<string, number>;
    for (const [name, row] of limits) {
      const [limitVariable, ttlVariable] = row.variables;
      expect(row.variables, name).toHaveLength(2);
      expect(row.default, name).toBe(`${defaults[limitVariable!]} per ${defaults[ttlVariable!]} s`);
      if (name === CLIENT_LIMIT) continue;
      const throttler = throttlers.find((th) => th.name === name)!;
      expect({ limit: throttler.limit, ttl: throttler.ttl }, name).toStrictEqual({
        limit: Number(settings[limitVariable as keyof typeof settings]),
        ttl: Number(settings[ttlVariable as keyof typeof settings]) * 1000,
      });
    }
    // The client limit is not a throttler: its variables are seen at work.
    const [limitVariable, ttlVariable] = limits.get(CLIENT_LIMIT)!.variables;
    expect([limitVariable, ttlVariable]).toStrictEqual(['THROTTLE_INTROSPECTION_FAILURE_LIMIT', 'THROTTLE_INTROSPECTION_FAILURE_TTL']);
    const wrong = () => t.http().post('/api/v1/auth/introspect').auth('billing', 'wrong-secret-wrong-secret-wrong-secret').type('form').send('token=x');
    for (let i = 0; i < Number(settings.THROTTLE_INTROSPECTION_FAILURE_LIMIT); i++) expect((await wrong()).status).toBe(401);
    const refused = await wrong();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(Number(settings.THROTTLE_INTROSPECTION_FAILURE_TTL) - 5);
  });
});

describe('docs/operating.md lists every route of the operator API', () => {
  it('one row per handler of AdminController, no more, no fewer', () => {
    const base = Reflect.getMetadata(PATH_METADATA, AdminController) as string;
    const code = Object.getOwnPropertyNames(AdminController.prototype).flatMap((name) => {
      const handler = (AdminController.prototype as unknown as Record<string, object>)[name]!;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (name === 'constructor' || method === undefined) return [];
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string;
      return [`${RequestMethod[method]} /${base}/${path}`.replace(/\/$/, '')];
    });
    const documented = tableOf(sectionOf(docsFile('docs/operating.md'), 'Operators'), 'route').map((row) => ticked(row[0]!)[0]!.replace(/\?.*$|\[.*$/, ''));
    expect(documented.sort()).toStrictEqual(code.sort());
  });
});

describe('docs link only to what exists', () => {
  it('every relative link of a doc reaches a file, and its #anchor a heading of that file', () => {
    const broken: string[] = [];
    for (const file of ['README.md', 'SECURITY.md', 'CHANGELOG.md', ...docsFiles()]) {
      const text = docsFile(file).replace(/^```[\s\S]*?^```/gm, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split('#');
        const resolved = path ? new URL(path, new URL(file, 'file:///repo/')).pathname.slice('/repo/'.length) : file;
        if (!existsInRepo(resolved)) broken.push(`${file}: ${target}`);
        else if (anchor && resolved.endsWith('.md') && !anchorsOf(docsFile(resolved)).has(anchor)) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toStrictEqual([]);
  });

  it('every repository path a doc names exists', () => {
    const missing: string[] = [];
    for (const file of ['README.md', 'SECURITY.md', 'CHANGELOG.md', ...docsFiles()]) {
      // Commands in fenced blocks may name what they create; build output is not in the repository.
      const text = docsFile(file).replace(/^```[\s\S]*?^```/gm, '');
      for (const [, path] of text.matchAll(/(?<![\w./@-])((?:src|test|docs|packages|migrations|bench|scripts|deploy)\/[\w./-]*[\w/])/g)) {
        if (!path!.split('/').includes('dist') && !existsInRepo(path!)) missing.push(`${file}: ${path}`);
      }
    }
    expect(missing).toStrictEqual([]);
  });
});

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens. */
const slugOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchorsOf(markdown: string): Set<string> {
  const outside = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...outside.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slugOf(m[1]!)));
}

function docsFiles(): string[] {
  return readdirSync(new URL('../../docs/', import.meta.url)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
}

function existsInRepo(path: string): boolean {
  return existsSync(new URL(`../../${path}`, import.meta.url));
}
