import type { Response } from 'supertest';
import { expect } from 'vitest';
import { MESSAGES } from './test-app.js';

/** What no body may ever contain: stack traces, SQL, driver and library errors. */
export function expectNothingInternal(res: Response) {
  expect(res.text.toLowerCase()).not.toContain('stack');
  expect(res.text).not.toMatch(/\bat \S+ \(|\n\s+at |\(\S+:\d+:\d+\)|file:\/\//);
  expect(res.text).not.toContain('QueryFailedError');
  expect(res.text).not.toContain('SELECT');
  expect(res.text).not.toContain('INSERT');
  expect(res.text).not.toContain('FST_');
  expect(res.text).not.toMatch(/typeorm|postgres|pglite|fastify|nest|class-validator|node_modules/i);
}

export function expectInvalidRequest(res: Response) {
  expect(res.status).toBe(400);
  expect(Object.keys(res.body).sort()).toEqual(['errors', 'message', 'success']);
  expect(res.body.success).toBe(false);
  expect(res.body.message).toBe(MESSAGES.invalidRequest);
  expect(Array.isArray(res.body.errors)).toBe(true);
  expect(res.body.errors.length).toBeGreaterThan(0);
  for (const error of res.body.errors) {
    expect(typeof error).toBe('string');
    expect(error.length).toBeGreaterThan(0);
  }
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expectNothingInternal(res);
}
