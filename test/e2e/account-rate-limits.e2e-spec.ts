import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../support/app.js';
import { expectTooMany } from '../support/expectations.js';
import { MESSAGES } from '../support/messages.js';
import { API, bearer, freshAddress, withOptions } from '../support/requests.js';
import { lacks, TEST_REDIS_URL } from '../support/requirements.js';
import { outboxMails, rowCount } from '../support/rows.js';
import { OTHER_SECRET, signToken } from '../support/tokens.js';
import { login, register, uniqueEmail } from '../support/users.js';

// The routes that hash a password or send mail with no password to check: register, forgot,
// reset, verify, resend. Each is limited per client address with the login limit's settings,
// forgot also per recipient; nothing the request makes up (a bearer, a forwarded address behind
// no trusted proxy) gives a fresh allowance. On both storages: counters in memory, and in Redis.

const LIMIT = 3;
const RECIPIENT_LIMIT = 2;
const LIMITS = {
  THROTTLE_LOGIN_LIMIT: String(LIMIT),
  THROTTLE_LOGIN_TTL: '60',
  THROTTLE_FORGOT_RECIPIENT_LIMIT: String(RECIPIENT_LIMIT),
  THROTTLE_FORGOT_RECIPIENT_TTL: '900',
  TRUST_PROXY: '1',
};
const RESET_SUBJECT = 'Restablecer la contraseña';
const VERIFY_SUBJECT = 'Verifique su correo electrónico';

/** A bearer of the right shape naming a session no one has: a fresh one for every request. */
const madeUpBearer = () => bearer(signToken({ sub: randomUUID(), sid: randomUUID() }, { secret: OTHER_SECRET }));

const STORAGES = [
  ['in memory', {}, false],
  ['in Redis (REDIS_URL)', { REDIS_URL: TEST_REDIS_URL }, true],
] as const;

for (const [storage, extra, needsRedis] of STORAGES) describe.skipIf(needsRedis && lacks('redis', `account routes rate limits ${storage}`))(`account routes rate limits, counted ${storage}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ ...LIMITS, ...extra });
  });
  afterAll(() => t?.close());

  const post = (path: string, from: string) => withOptions(t.http().post(`${API}${path}`), { from });

  /** Each route, and the answer it gives below its limit to a request that carries a made-up bearer. */
  const ROUTES: Array<[string, number, (from: string) => ReturnType<typeof post>]> = [
    ['POST /register', 201, (from) => post('/register', from).set(madeUpBearer()).send({ email: uniqueEmail(), password: 'password-123' })],
    ['POST /password/forgot', 202, (from) => post('/password/forgot', from).set(madeUpBearer()).send({ email: uniqueEmail() })],
    ['POST /password/reset', 400, (from) => post('/password/reset', from).set(madeUpBearer()).send({ token: randomBytes(32).toString('base64url'), newPassword: 'a-new-password-1' })],
    ['POST /email/verify', 400, (from) => post('/email/verify', from).set(madeUpBearer()).send({ token: randomBytes(32).toString('base64url') })],
    ['POST /email/verify/resend', 401, (from) => post('/email/verify/resend', from).set(madeUpBearer())],
  ];

  it.each(ROUTES)('%s: per client address, a made-up bearer (and a new email or token) per request gets no fresh allowance', async (_, below, send) => {
    const from = freshAddress();
    for (let i = 0; i < LIMIT; i++) expect((await send(from)).status).toBe(below);
    expectTooMany(await send(from));
    expectTooMany(await send(from));
    // Another client address has its own count.
    expect((await send(freshAddress())).status).toBe(below);
  });

  it('register: a refused registration creates no account; the limit does not spend login\'s', async () => {
    const from = freshAddress();
    const user = await register(t, undefined, undefined, { from });
    for (let i = 1; i < LIMIT; i++) await register(t, undefined, undefined, { from });
    const users = await rowCount(t, 'users');
    const email = uniqueEmail();
    expectTooMany(await post('/register', from).send({ email, password: 'password-123' }));
    expect(await rowCount(t, 'users')).toBe(users);
    await withOptions(t.http().post(`${API}/login`), { from }).send({ email: user.email, password: user.password }).expect(200);
  });

  it('resend: a user\'s new session gets no fresh allowance either: past the limit, 429 and no more verification mail', async () => {
    const from = freshAddress();
    const user = await register(t, undefined, undefined, { from: freshAddress() });
    const first = await login(t, user.email, user.password);
    const second = await login(t, user.email, user.password);
    for (let i = 0; i < LIMIT; i++) await post('/email/verify/resend', from).set(bearer(first.token)).expect(202);
    expectTooMany(await post('/email/verify/resend', from).set(bearer(second.token)));
    // Registration's mail, and one a resend that was let through.
    expect(await outboxMails(t, user.email, VERIFY_SUBJECT)).toBe(1 + LIMIT);
  });

  describe('forgot, per recipient', () => {
    /** The statuses and bodies of forgot for `email`, each request from a new client address. */
    const forgotFromEverywhere = async (email: string, times: number) => {
      const answers = [];
      for (let i = 0; i < times; i++) answers.push(await post('/password/forgot', freshAddress()).send({ email }));
      return answers;
    };

    it('past the recipient limit, 429 whatever the client address: one victim gets that many mails, no more', async () => {
        const victim = await register(t, undefined, undefined, { from: freshAddress() });
      const answers = await forgotFromEverywhere(victim.email, RECIPIENT_LIMIT + 2);
      for (const res of answers.slice(0, RECIPIENT_LIMIT)) expect(res.body).toStrictEqual({ success: true, message: MESSAGES.resetRequested });
      for (const res of answers.slice(RECIPIENT_LIMIT)) expectTooMany(res, 900);
      // The mails are enqueued after the answer: wait for the accepted ones, then for any other.
      const deadline = Date.now() + 10_000;
      while ((await outboxMails(t, victim.email, RESET_SUBJECT)) < RECIPIENT_LIMIT && Date.now() < deadline) await sleep(50);
      await sleep(300);
      expect(await outboxMails(t, victim.email, RESET_SUBJECT)).toBe(RECIPIENT_LIMIT);
    });

    it('counts the normalized address: its case does not split the count', async () => {
        const email = uniqueEmail();
      const spellings = [email, email.toUpperCase(), email.charAt(0).toUpperCase() + email.slice(1)];
      const statuses = [];
      for (const spelling of spellings) statuses.push((await post('/password/forgot', freshAddress()).send({ email: spelling })).status);
      expect(statuses).toStrictEqual([202, 202, 429]);
    });

    it('is no oracle: a registered and an unknown address get the same answers, 429 included', async () => {
        const registered = await register(t, undefined, undefined, { from: freshAddress() });
      const shape = (answers: Array<{ status: number; text: string; headers: Record<string, string> }>) =>
        answers.map((res) => [res.status, res.text, res.headers['retry-after'] === undefined]);
      const known = await forgotFromEverywhere(registered.email, RECIPIENT_LIMIT + 1);
      const unknown = await forgotFromEverywhere(uniqueEmail(), RECIPIENT_LIMIT + 1);
      expect(shape(unknown)).toStrictEqual(shape(known));
      expect(known.at(-1)!.status).toBe(429);
    });

    it('a request refused per client address does not spend the recipient\'s allowance', async () => {
        const from = freshAddress();
      for (let i = 0; i < LIMIT; i++) await post('/password/forgot', from).send({ email: uniqueEmail() }).expect(202);
      const email = uniqueEmail();
      for (let i = 0; i < 3; i++) expectTooMany(await post('/password/forgot', from).send({ email }));
      expect((await forgotFromEverywhere(email, RECIPIENT_LIMIT)).map((res) => res.status)).toStrictEqual([202, 202]);
    });
  });
});

describe('account routes without TRUST_PROXY: X-Forwarded-For does not reset the count', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ ...LIMITS, TRUST_PROXY: undefined });
  });
  afterAll(() => t.close());

  it('register from "new" forwarded addresses is still one client', async () => {
    for (let i = 0; i < LIMIT; i++) await register(t, undefined, undefined, { from: freshAddress() });
    expectTooMany(await withOptions(t.http().post(`${API}/register`), { from: freshAddress() }).send({ email: uniqueEmail(), password: 'password-123' }));
  });
});
