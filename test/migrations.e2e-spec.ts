import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NormalizeEmails1763800000000 } from '../migrations/1763800000000-normalize-emails.js';
import { userRow } from './support/rows.js';
import { API, loginRequest, startApp, type TestApp } from './support/test-app.js';

describe('migration NormalizeEmails: rows stored before emails were NFC-normalized', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  /** A row as the previous release wrote it: lowercased only, with a working password. */
  async function oldRow(email: string): Promise<string> {
    const res = await t.http().post(`${API}/register`).send({ email: `${randomUUID()}@example.com`, password: 'password-123' });
    await t.dataSource.query('UPDATE users SET email = $2 WHERE id = $1', [res.body.data.id, email]);
    return res.body.data.id;
  }

  const emailOf = async (id: string) => (await userRow(t, { id })).email;

  async function migrate() {
    const runner = t.dataSource.createQueryRunner();
    try {
      await new NormalizeEmails1763800000000().up(runner);
    } finally {
      await runner.release();
    }
  }

  it('rewrites a decomposed email to NFC, so its owner can log in again, and leaves the rest alone', async () => {
    const id = randomUUID().slice(0, 8);
    const decomposed = await oldRow(`jose\u0301-${id}@example.com`);
    const ascii = await oldRow(`plain-${id}@example.com`);
    const composedAlready = await oldRow(`mar\u00eda-${id}@example.com`);

    const login = () => loginRequest(t, `jos\u00e9-${id}@example.com`, 'password-123');
    expect((await login()).status).toBe(401);

    await migrate();

    expect(await emailOf(decomposed)).toBe(`jos\u00e9-${id}@example.com`);
    expect(await emailOf(ascii)).toBe(`plain-${id}@example.com`);
    expect(await emailOf(composedAlready)).toBe(`mar\u00eda-${id}@example.com`);
    expect((await login()).status).toBe(200);
  });

  it('leaves both rows as they are when the normalized email is taken already', async () => {
    const id = randomUUID().slice(0, 8);
    const composed = await oldRow(`ren\u00e9-${id}@example.com`);
    const decomposed = await oldRow(`rene\u0301-${id}@example.com`);

    await migrate();

    expect(await emailOf(composed)).toBe(`ren\u00e9-${id}@example.com`);
    expect(await emailOf(decomposed)).toBe(`rene\u0301-${id}@example.com`);
  });
});
