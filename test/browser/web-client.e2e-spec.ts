import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../support/app.js';
import { listen } from '../support/listen.js';
import { CHROMIUM_PATH, lacks } from '../support/requirements.js';
import { fromFile, serveStatic, type StaticServer } from '../support/static-server.js';
import { register } from '../support/users.js';

// The typed web client (packages/client) in real Chromium: a page on its own origin calls the
// API on another (same site), with CORS_ORIGINS and cookie mode, in one tab or two of the same browser;
// what a logout makes the browser forget (Clear-Site-Data, the refresh cookie), and the same page
// on another site, where cookie mode cannot work.

const TTL_SECONDS = 3;
const GRACE_SECONDS = 1;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CLIENT_DIST = new URL('../../packages/client/dist/', import.meta.url);
const require = createRequire(import.meta.url);

/** The page an app would be: the client from its build, openapi-fetch by an import map. */
const page = (apiOrigin: string) => `<!doctype html>
<meta charset="utf-8">
<script type="importmap">{ "imports": { "openapi-fetch": "/vendor/openapi-fetch.mjs" } }</script>
<script type="module">
  import { createAuthClient } from '/client/index.js';
  const query = new URLSearchParams(location.search);
  const alone = query.has('alone');
  const auth = createAuthClient({ baseUrl: query.get('api') ?? ${JSON.stringify(apiOrigin)}, mode: 'cookie', ...(alone && { tabs: false }) });
  window.signedOut = [];
  auth.onSignedOut((reason) => window.signedOut.push(reason));
  window.auth = auth;
  window.me = async () => {
    const { response, data } = await auth.api.GET('/api/v1/auth/me');
    return { status: response.status, email: data?.data.email };
  };
  window.ready = true;
</script>`;

describe.skipIf(lacks('chromium', 'the web client in a browser'))('the typed web client in Chromium, cookie mode, another origin', () => {
  let t: TestApp;
  let api: string;
  let site: StaticServer;
  let browser: Browser;
  let context: BrowserContext;
  /** The environment of the suite's app. */
  let appEnv: Record<string, string>;
  /** The refresh requests the browser sent, all tabs together. */
  let refreshes = 0;

  /** The same page served under `localhost`: another site than 127.0.0.1, the API's. */
  const otherSite = (origin: string) => origin.replace('127.0.0.1', 'localhost');

  /**
   * `alone`: a tab that does not coordinate with the others (no lock, no channel). `api`, `into`:
   * another API than the suite's, in a browser context of its own (the refresh cookies of two
   * APIs on 127.0.0.1 would share one jar).
   */
  async function openTab({
    alone = false,
    api: otherApi,
    into = context,
    origin = site.origin,
  }: { alone?: boolean; api?: string; into?: BrowserContext; origin?: string } = {}): Promise<Page> {
    const tab = await into.newPage();
    const query = new URLSearchParams({ ...(alone && { alone: '' }), ...(otherApi && { api: otherApi }) });
    await tab.goto(`${origin}/${query.size > 0 ? `?${query}` : ''}`);
    await tab.waitForFunction(() => (globalThis as any).ready === true);
    return tab;
  }
  const me = (tab: Page) => tab.evaluate(() => (globalThis as any).me()) as Promise<{ status: number; email?: string }>;
  const signedOut = (tab: Page) => tab.evaluate(() => (globalThis as any).signedOut) as Promise<string[]>;
  const signedIn = (tab: Page) => tab.evaluate(() => (globalThis as any).auth.signedIn) as Promise<boolean>;
  const login = (tab: Page, user: { email: string; password: string }) =>
    tab.evaluate(({ email, password }) => (globalThis as any).auth.login(email, password).then(() => true), user);
  /** POST /logout from the page, through its client (the page's own access token as bearer), with this body. */
  const logoutFrom = (tab: Page, body: object) =>
    tab.evaluate((b) => (globalThis as any).auth.api.POST('/api/v1/auth/logout', { body: b }).then((r: any) => r.response.status), body) as Promise<number>;
  /** The page loaded again: a new client, nothing in memory, only what the browser kept. */
  const reload = async (tab: Page) => {
    await tab.reload();
    await tab.waitForFunction(() => (globalThis as any).ready === true);
  };
  const restore = (tab: Page) => tab.evaluate(() => (globalThis as any).auth.restore()) as Promise<boolean>;
  const refreshCookie = async () => (await context.cookies(`${api}/api/v1/auth/refresh`)).find((cookie) => cookie.name === 'refresh_token');
  const liveSessions = async (sessionId: string) =>
    (await t.dataSource.query('SELECT ended_reason FROM sessions WHERE id = $1 AND revoked_at IS NULL', [sessionId])).length;

  beforeAll(async () => {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'packages/client/tsconfig.json'], { stdio: 'pipe' });
    const files = Object.fromEntries(
      readdirSync(CLIENT_DIST)
        .filter((name) => name.endsWith('.js'))
        .map((name) => [`/client/${name}`, { type: 'text/javascript', body: fromFile(new URL(name, CLIENT_DIST).pathname) }]),
    );
    let apiOrigin = '';
    site = await serveStatic({
      ...files,
      '/vendor/openapi-fetch.mjs': { type: 'text/javascript', body: fromFile(require.resolve('openapi-fetch').replace(/index\.c?js$/, 'index.mjs')) },
      '/': { type: 'text/html', body: () => page(apiOrigin) },
    });
    appEnv = {
      REFRESH_TOKEN_COOKIE: 'true',
      // The page's origin, and the same page on another site (localhost is not 127.0.0.1's site).
      CORS_ORIGINS: `${site.origin},${otherSite(site.origin)}`,
      JWT_ACCESS_TTL: String(TTL_SECONDS),
      REFRESH_REUSE_GRACE: String(GRACE_SECONDS),
    };
    t = await startApp(appEnv);
    // Two ports: two origins of one site, as app.example.com and auth.example.com would be (the
    // refresh cookie is SameSite=Strict: across sites, bearer mode is the way).
    api = await listen(t);
    apiOrigin = api;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
    });
  });
  // A browser context (cookie jar, tabs) a case: no cookie or tab of another case answers for this one.
  beforeEach(async () => {
    context = await browser.newContext();
    context.on('request', (request) => {
      if (request.url().endsWith('/api/v1/auth/refresh') && request.method() === 'POST') refreshes++;
    });
  });
  afterEach(async () => {
    await context?.close();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await site?.close();
  });

  it('logs in and calls /me across origins', async () => {
    const user = await register(t);
    const tab = await openTab();
    await login(tab, user);
    expect(await me(tab)).toStrictEqual({ status: 200, email: user.email });
  });

  it('outlives a short access token without the app noticing', async () => {
    const user = await register(t);
    const tab = await openTab();
    await login(tab, user);
    const before = refreshes;
    await sleep(TTL_SECONDS * 1000 + 200);
    expect(await me(tab)).toStrictEqual({ status: 200, email: user.email });
    expect(refreshes - before).toBe(1);
    expect(await signedOut(tab)).toStrictEqual([]);
  });

  it('two tabs past expiry at once: one refresh between them, nobody logged out', async () => {
    const user = await register(t);
    const [a, b] = [await openTab(), await openTab()];
    await login(a, user);
    // The other tab heard the new tokens: it is signed in without a request.
    expect(await signedIn(b)).toBe(true);
    const { sessionId } = await a.evaluate(() => (globalThis as any).auth.api.GET('/api/v1/auth/me').then((r: any) => r.data.data));
    await sleep(TTL_SECONDS * 1000 + 200);
    const before = refreshes;
    const answers = await Promise.all([me(a), me(b), me(a), me(b)]);
    expect(answers.map((answer) => answer.status)).toStrictEqual([200, 200, 200, 200]);
    expect(refreshes - before).toBe(1);
    expect(await liveSessions(sessionId)).toBe(1);
    expect([...(await signedOut(a)), ...(await signedOut(b))]).toStrictEqual([]);
  });

  it('two tabs that do not coordinate refresh at once with one cookie: the retry is harmless, nobody logged out', async () => {
    const user = await register(t);
    const [a, b] = [await openTab({ alone: true }), await openTab({ alone: true })];
    await login(a, user);
    expect(await b.evaluate(() => (globalThis as any).auth.restore())).toBe(true);
    const { sessionId } = await a.evaluate(() => (globalThis as any).auth.api.GET('/api/v1/auth/me').then((r: any) => r.data.data));
    await sleep(TTL_SECONDS * 1000 + 200);
    const before = refreshes;
    const answers = await Promise.all([me(a), me(b)]);
    expect(answers.map((answer) => answer.status)).toStrictEqual([200, 200]);
    expect(refreshes - before).toBe(2);
    expect(await liveSessions(sessionId)).toBe(1);
    expect([...(await signedOut(a)), ...(await signedOut(b))]).toStrictEqual([]);
  });

  it('a tab opened later signs in from the cookie', async () => {
    const user = await register(t);
    const a = await openTab();
    await login(a, user);
    const late = await openTab();
    expect(await late.evaluate(() => (globalThis as any).auth.restore())).toBe(true);
    expect(await me(late)).toStrictEqual({ status: 200, email: user.email });
  });

  it('a logout in one tab signs the other out, with one event', async () => {
    const user = await register(t);
    const [a, b] = [await openTab(), await openTab()];
    await login(a, user);
    expect(await me(b)).toStrictEqual({ status: 200, email: user.email });
    await a.evaluate(() => (globalThis as any).auth.logout());
    await b.waitForFunction(() => (globalThis as any).signedOut.length > 0);
    expect(await signedOut(a)).toStrictEqual(['logout']);
    expect(await signedOut(b)).toStrictEqual(['other-tab']);
    expect(await signedIn(b)).toBe(false);
    // The cookie went with the session: a new tab cannot sign in from it.
    const late = await openTab();
    expect(await late.evaluate(() => (globalThis as any).auth.restore())).toBe(false);
  });

  it('a stolen refresh token used after its successor: the session ends, and every tab signs out', async () => {
    const user = await register(t);
    const [a, b] = [await openTab(), await openTab()];
    await login(a, user);
    const stolen = (await context.cookies(`${api}/api/v1/auth/refresh`)).find((cookie) => cookie.name === 'refresh_token')!.value;
    await a.evaluate(() => (globalThis as any).auth.refresh());
    await sleep(GRACE_SECONDS * 1000 + 300);
    // The thief, outside the browser, presents the cookie it copied.
    const thief = await fetch(`${api}/api/v1/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `refresh_token=${stolen}` },
      body: '{}',
    });
    expect(thief.status).toBe(401);
    expect((await me(a)).status).toBe(401);
    await b.waitForFunction(() => (globalThis as any).signedOut.length > 0);
    expect(await signedOut(a)).toStrictEqual(['session-ended']);
    expect(await signedOut(b)).toStrictEqual(['other-tab']);
    const [row] = await t.dataSource.query(
      "SELECT ended_reason FROM sessions WHERE user_id = $1 AND revoked_at IS NOT NULL",
      [user.userId],
    );
    expect(row.ended_reason).toBe('refresh_reuse');
  });

  it('ending another session of the user by its token keeps this one: after a reload it is restored from the cookie', async () => {
    const user = await register(t);
    const tab = await openTab();
    await login(tab, user);
    // The user's other device: a second session, opened outside this browser.
    const elsewhere = await fetch(`${api}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    const other = ((await elsewhere.json()) as { data: { accessToken: string; sessionId: string } }).data;
    expect(await logoutFrom(tab, { token: other.accessToken })).toBe(200);
    expect(await liveSessions(other.sessionId)).toBe(0);
    expect(await refreshCookie()).toBeDefined();
    await reload(tab);
    expect(await restore(tab)).toBe(true);
    expect(await me(tab)).toStrictEqual({ status: 200, email: user.email });
  });

  it('ending its own session by its own token clears the cookie: after a reload there is nothing to restore', async () => {
    const user = await register(t);
    const tab = await openTab();
    await login(tab, user);
    const token = await tab.evaluate(() => (globalThis as any).auth.refresh()) as string;
    expect(await logoutFrom(tab, { token })).toBe(200);
    expect(await refreshCookie()).toBeUndefined();
    await reload(tab);
    expect(await restore(tab)).toBe(false);
  });

  it("ending its own session leaves the cookies of the app's origin alone (one site, no \"cookies\" in Clear-Site-Data)", async () => {
    const user = await register(t);
    const tab = await openTab();
    await login(tab, user);
    // The app's own cookie, on the page's origin: the same site as the API's.
    await tab.evaluate(() => void ((globalThis as any).document.cookie = 'app_pref=dark; Path=/'));
    await tab.evaluate(() => (globalThis as any).auth.logout());
    expect(await refreshCookie()).toBeUndefined();
    expect(await tab.evaluate(() => (globalThis as any).document.cookie as string)).toContain('app_pref=dark');
  });

  it("with LOGOUT_CLEAR_SITE_COOKIES=true, ending its own session clears every cookie of the site: the app origin's too", async () => {
    const wiping = await startApp({ ...appEnv, LOGOUT_CLEAR_SITE_COOKIES: 'true' });
    const own = await browser.newContext();
    try {
      const tab = await openTab({ api: await listen(wiping), into: own });
      await login(tab, await register(wiping));
      await tab.evaluate(() => void ((globalThis as any).document.cookie = 'app_pref=dark; Path=/'));
      await tab.evaluate(() => (globalThis as any).auth.logout());
      expect(await tab.evaluate(() => (globalThis as any).document.cookie as string)).toBe('');
      expect(await own.cookies()).toStrictEqual([]);
    } finally {
      await own.close();
      await wiping.close();
    }
  });

  it('across sites (the page on localhost, the API on 127.0.0.1) cookie mode fails silently: login answers, the cookie is dropped', async () => {
    const user = await register(t);
    const tab = await openTab({ origin: otherSite(site.origin) });
    // CORS lets the page in, and the login answers 200 with its Set-Cookie...
    expect(await login(tab, user)).toBe(true);
    expect(await me(tab)).toStrictEqual({ status: 200, email: user.email });
    // ...but the browser kept no cookie for a request from another site: the session lives only
    // as long as the access token in memory.
    expect(await refreshCookie()).toBeUndefined();
    await reload(tab);
    expect(await restore(tab)).toBe(false);
  });
});
