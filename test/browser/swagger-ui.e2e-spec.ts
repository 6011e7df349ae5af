import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../support/listen.js';
import { startApp, type TestApp } from '../support/app.js';
import { MESSAGES } from '../support/messages.js';
import { INTROSPECTION_CLIENT, INTROSPECTION_CLIENTS } from '../support/introspection.js';
import { API } from '../support/requests.js';
import { CHROMIUM_PATH, lacks } from '../support/requirements.js';
import { uniqueEmail } from '../support/users.js';

// Swagger UI driven by a real browser: what a developer does on /api/docs, click by click, under
// the page's own Content-Security-Policy. Needs Chromium (Debian: `apt-get install chromium`;
// .ci/run installs it).

/** Swagger UI's ids: `operations-<tag>-<operationId>`, the operationIds being the handlers' names. */
const OPERATIONS = {
  logout: '#operations-auth-logout',
  me: '#operations-auth-me',
  sessions: '#operations-sessions-listSessions',
  feed: '#operations-events-feed',
} as const;

interface Shown {
  status: number;
  body: any;
}

// One session in one page, step after step: kept in order when the suite is shuffled.
describe.skipIf(lacks('chromium', 'Swagger UI in a browser'))('Swagger UI at /api/docs, in Chromium', { shuffle: false }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let page: Page;
  /** Everything the page complained about: console errors (CSP violations among them) and uncaught errors. */
  const complaints: string[] = [];
  /** The Authorization header of each API request the page sent, in order. */
  const sentAuthorizations: Array<string | undefined> = [];
  let user: { email: string; password: string; userId: string };

  const api = async (path: string, init: { method?: string; body?: unknown; token?: string } = {}) => {
    const res = await fetch(`${base}${API}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(init.body !== undefined && { 'Content-Type': 'application/json' }),
        ...(init.token && { Authorization: `Bearer ${init.token}` }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  const logIn = async () => {
    const res = await api('/login', { body: { email: user.email, password: user.password } });
    expect(res.status).toBe(200);
    return { token: res.body.data.accessToken as string, sessionId: res.body.data.sessionId as string };
  };

  /** Top "Authorize" button, then one scheme's form: fill it, Authorize, Close; logs the previous credentials out of the UI first. */
  async function authorizeWith(scheme: 'bearer' | 'basic', fill: (form: Locator) => Promise<void>): Promise<void> {
    await page.locator('.scheme-container .btn.authorize').click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    await dialog.waitFor();
    // Swagger UI gives each scheme its own form, headed by the scheme's name.
    const form = dialog.locator('.auth-container').filter({ has: page.locator('h4 code', { hasText: new RegExp(`^${scheme}$`) }) });
    const buttons = form.locator('.auth-btn-wrapper button');
    const logoutOfUi = buttons.filter({ hasText: /^Logout$/ });
    if ((await logoutOfUi.count()) > 0) await logoutOfUi.click();
    await fill(form);
    await buttons.filter({ hasText: /^Authorize$/ }).click();
    // Authorized: the form now offers to log the credentials out of the UI.
    await logoutOfUi.waitFor();
    await buttons.filter({ hasText: /^Close$/ }).click();
    await dialog.waitFor({ state: 'detached' });
  }

  const authorize = (token: string) => authorizeWith('bearer', (form) => form.locator('input').fill(token));

  /** The operation, expanded and in "Try it out" mode. */
  async function tryOut(id: string): Promise<Locator> {
    const op = page.locator(id);
    if (!(await op.evaluate((el) => el.classList.contains('is-open')))) {
      await op.locator('.opblock-summary-control').click();
    }
    const button = op.locator('.try-out__btn:not(.reset)');
    if ((await button.innerText()).trim() === 'Try it out') await button.click();
    await op.locator('.execute').waitFor();
    return op;
  }

  /** Clicks Execute and reads the response Swagger UI shows: its status and its body. */
  async function execute(op: Locator): Promise<Shown> {
    const clear = op.locator('.btn-clear');
    if ((await clear.count()) > 0) await clear.click();
    const live = op.locator('.live-responses-table');
    await live.waitFor({ state: 'detached' });
    await op.locator('.execute').click();
    const row = live.locator('tbody .response').first();
    const bodyBlock = row.locator('.response-col_description .highlight-code pre').first();
    await bodyBlock.waitFor();
    const status = Number((await row.locator('.response-col_status').innerText()).trim());
    return { status, body: JSON.parse(await bodyBlock.innerText()) };
  }

  /** The logout operation's body editor, set to `text`. */
  async function setBody(op: Locator, text: string): Promise<void> {
    await op.locator('textarea.body-param__text').fill(text);
  }

  beforeAll(async () => {
    t = await startApp({ INTROSPECTION_CLIENTS });
    base = await listen(t);
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') complaints.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => complaints.push(`pageerror: ${error.message}`));
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/v1/')) sentAuthorizations.push(request.headers()['authorization']);
    });

    const registered = await api('/register', { body: { email: uniqueEmail(), password: 'password-123' } });
    expect(registered.status).toBe(201);
    user = { email: registered.body.data.email, password: 'password-123', userId: registered.body.data.id };
  });

  // Each case's own: no console or uncaught error beyond the 401s it asked for (Chromium logs every
  // 4xx fetch as "Failed to load resource").
  afterEach(() => {
    const unexpected = complaints.splice(0).filter((c) => !/Failed to load resource: the server responded with a status of 401/.test(c));
    expect(unexpected).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('loads and runs under the page Content-Security-Policy: every operation rendered, no console error', async () => {
    const response = await page.goto(`${base}/api/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await page
      .locator('.opblock')
      .first()
      .waitFor({ timeout: 15_000 })
      .catch((err: unknown) => {
        throw new Error(`Swagger UI rendered no operation: ${String(err)}\npage complaints:\n${complaints.join('\n')}`);
      });
    for (const id of Object.values(OPERATIONS)) await expect.poll(() => page.locator(id).count()).toBe(1);
    expect(complaints).toEqual([]);
  });

  it('authorizes with a token, logs it out with Try it out and Execute: 200 "Sesión cerrada exitosamente"; then GET /me with it shows 401 "Token no proporcionado o inválido"', async () => {
    const { token } = await logIn();
    await authorize(token);

    const logout = await tryOut(OPERATIONS.logout);
    // No body: the bearer's own session (the last case executes the pre-filled one).
    await setBody(logout, '{}');
    const shown = await execute(logout);
    expect(shown).toEqual({ status: 200, body: { success: true, message: MESSAGES.loggedOut } });
    expect(sentAuthorizations.at(-1)).toBe(`Bearer ${token}`);

    // GET /me with the same, logged-out token.
    const me = await tryOut(OPERATIONS.me);
    expect(await execute(me)).toEqual({ status: 401, body: { success: false, message: MESSAGES.invalidToken } });
    expect(sentAuthorizations.at(-1)).toBe(`Bearer ${token}`);
  });

  it('with a new login: GET /sessions lists the current session, and after logout in the UI answers 401', async () => {
    const other = await logIn(); // another live session of the same user, listed but not current
    const current = await logIn();
    await authorize(current.token);

    const sessions = await tryOut(OPERATIONS.sessions);
    const listed = await execute(sessions);
    expect(listed.status).toBe(200);
    expect(listed.body.success).toBe(true);
    expect(listed.body.message).toBe(MESSAGES.sessions);
    const rows: Array<{ id: string; current: boolean }> = listed.body.data.sessions;
    expect(rows.map((s) => s.id)).toEqual([current.sessionId, other.sessionId]); // newest first
    expect(rows.find((s) => s.current)?.id).toBe(current.sessionId);
    expect(sentAuthorizations.at(-1)).toBe(`Bearer ${current.token}`);

    const logout = await tryOut(OPERATIONS.logout);
    await setBody(logout, '{}');
    expect(await execute(logout)).toEqual({ status: 200, body: { success: true, message: MESSAGES.loggedOut } });

    expect(await execute(sessions)).toEqual({ status: 401, body: { success: false, message: MESSAGES.invalidToken } });
    // Only that session ended: the other one still answers.
    expect((await api('/me', { token: other.token })).status).toBe(200);
  });

  it('authorizes an introspection client with Basic beside the Bearer token, and GET /events sends it: 200', async () => {
    await authorizeWith('basic', async (form) => {
      await form.locator('input[name="username"]').fill(INTROSPECTION_CLIENT.id);
      await form.locator('input[name="password"]').fill(INTROSPECTION_CLIENT.secret);
    });
    const feed = await tryOut(OPERATIONS.feed);
    const shown = await execute(feed);
    expect(shown.status).toBe(200);
    expect(shown.body.success).toBe(true);
    expect(Array.isArray(shown.body.data.events)).toBe(true);
    const basic = `Basic ${Buffer.from(`${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret}`).toString('base64')}`;
    expect(sentAuthorizations.at(-1)).toBe(basic);

    // The Bearer form still authorizes on its own, and a bearer route still gets the token.
    const { token } = await logIn();
    await authorize(token);
    expect(await execute(await tryOut(OPERATIONS.me))).toMatchObject({ status: 200, body: { success: true } });
    expect(sentAuthorizations.at(-1)).toBe(`Bearer ${token}`);
  });

  // "Try it out" pre-fills the logout body with the first example of @ApiBody: `{}`, so Execute
  // as offered logs the bearer out (a made-up `token` there would answer 401).
  it('Try it out on logout pre-fills a body with no made-up token, and Execute with it logs out (200)', async () => {
    const { token } = await logIn();
    await authorize(token);
    const logout = page.locator(OPERATIONS.logout);
    // Leave Try it out and reset the editor: back to the body Swagger UI offers.
    await logout.locator('.try-out__btn.cancel').click();
    await tryOut(OPERATIONS.logout);
    const reset = logout.locator('.try-out__btn.reset');
    if ((await reset.count()) > 0) await reset.click();
    const prefilled = await logout.locator('textarea.body-param__text').inputValue();
    const shown = await execute(logout);
    expect(JSON.parse(prefilled)).not.toHaveProperty('token');
    expect(shown).toEqual({ status: 200, body: { success: true, message: MESSAGES.loggedOut } });
  });
});
