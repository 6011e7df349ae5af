import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../support/app.js';
import { listen } from '../support/listen.js';
import { meRequest } from '../support/requests.js';
import { CHROMIUM_PATH, lacks } from '../support/requirements.js';
import { serveStatic, type StaticServer } from '../support/static-server.js';
import { registerAndLogin } from '../support/users.js';

// Passkeys in real Chromium: a page on http://localhost:<port> (a secure context, the RP ID
// `localhost`) calls navigator.credentials.create/get with the options JSON the API answers
// (PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON, and the
// credential's toJSON()), against a virtual authenticator of the DevTools protocol: registration,
// passwordless login, the second step of a password login, and a removal ending the sessions.

/** The page an app would be: it fetches the API (another origin, CORS) and runs the ceremonies. */
const page = (api: string) => `<!doctype html>
<meta charset="utf-8">
<script type="module">
  const post = async (path, body, token) => {
    const res = await fetch(${JSON.stringify(api)} + '/api/v1/auth' + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: 'Bearer ' + token }) },
      body: JSON.stringify(body ?? {}),
    });
    return { status: res.status, body: await res.json() };
  };
  const create = async (options) =>
    (await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })).toJSON();
  const get = async (options) =>
    (await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) })).toJSON();
  window.registerPasskey = async (token) => {
    const options = await post('/passkeys/register/options', {}, token);
    if (options.status !== 200) return options;
    return post('/passkeys/register', { credential: await create(options.body.data), name: 'Chromium' }, token);
  };
  window.passkeyLogin = async () => {
    const options = await post('/passkeys/login/options');
    return post('/passkeys/login', { credential: await get(options.body.data) });
  };
  /** An assertion for request options given by another route (a login's second step, step-up). */
  window.assertion = get;
  window.ready = true;
</script>`;

describe.skipIf(lacks('chromium', 'passkeys in a browser'))('passkeys in Chromium with a virtual authenticator', () => {
  let t: TestApp;
  let site: StaticServer;
  let browser: Browser;
  let context: BrowserContext;
  /** The page's origin: localhost, so that the RP ID `localhost` is its own. */
  let origin: string;
  let api = '';

  /** A tab on the page, with a virtual platform authenticator that verifies the user. */
  async function openTab(): Promise<Page> {
    const tab = await context.newPage();
    const cdp = await context.newCDPSession(tab);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });
    await tab.goto(`${origin}/`);
    await tab.waitForFunction(() => (globalThis as any).ready === true);
    return tab;
  }
  type Answer = { status: number; body: any };
  const registerPasskey = (tab: Page, token: string) => tab.evaluate((tk) => (globalThis as any).registerPasskey(tk), token) as Promise<Answer>;
  const passkeyLogin = (tab: Page) => tab.evaluate(() => (globalThis as any).passkeyLogin()) as Promise<Answer>;

  beforeAll(async () => {
    site = await serveStatic({ '/': { type: 'text/html', body: () => page(api) } });
    origin = site.origin.replace('127.0.0.1', 'localhost');
    t = await startApp({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: origin, CORS_ORIGINS: origin });
    api = await listen(t);
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
    });
  });
  // A browser context (and so an authenticator) a case: no passkey of another case answers for this one.
  beforeEach(async () => {
    context = await browser.newContext();
  });
  afterEach(async () => {
    await context?.close();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await site?.close();
  });

  it('registers a passkey (first factor: recovery codes) and logs in with it, no password: amr ["hwk","user"]', async () => {
    const user = await registerAndLogin(t);
    const tab = await openTab();
    const registered = await registerPasskey(tab, user.token);
    expect(registered.status).toBe(200);
    expect(registered.body.message).toBe('Llave de acceso registrada');
    expect(registered.body.data.recoveryCodes).toHaveLength(10);
    const [row] = await t.dataSource.query('SELECT * FROM mfa_factors WHERE id = $1', [registered.body.data.factorId]);
    expect(row).toMatchObject({ type: 'webauthn', name: 'Chromium', user_id: user.userId, transports: ['internal'] });

    const loggedIn = await passkeyLogin(tab);
    expect(loggedIn.status).toBe(200);
    expect(loggedIn.body.message).toBe('Inicio de sesión exitoso');
    const me = await meRequest(t, loggedIn.body.data.accessToken).expect(200);
    expect(me.body.data).toMatchObject({ id: user.userId, amr: ['hwk', 'user'] });
  });

  it("refuses registering the same authenticator's passkey twice (excludeCredentials): the browser says so, nothing stored", async () => {
    const user = await registerAndLogin(t);
    const tab = await openTab();
    expect((await registerPasskey(tab, user.token)).status).toBe(200);
    const again = await tab.evaluate((tk) => (globalThis as any).registerPasskey(tk).then(() => 'registered', (e: Error) => e.name), user.token);
    expect(again).toBe('InvalidStateError');
    const rows = await t.dataSource.query('SELECT id FROM mfa_factors WHERE user_id = $1', [user.userId]);
    expect(rows).toHaveLength(1);
  });

  it('a session authenticated long ago must step up before registering: 401, no ceremony', async () => {
    const user = await registerAndLogin(t);
    await t.dataSource.query(`UPDATE sessions SET authenticated_at = now() - interval '1 hour' WHERE id = $1`, [user.sessionId]);
    const tab = await openTab();
    const refused = await registerPasskey(tab, user.token);
    expect(refused).toEqual({ status: 401, body: { success: false, message: 'Se requiere autenticación reciente' } });
    expect(await t.dataSource.query('SELECT id FROM mfa_factors WHERE user_id = $1', [user.userId])).toEqual([]);
  });

  it('answers the second step of a password login: amr ["pwd","hwk"]', async () => {
    const user = await registerAndLogin(t);
    const tab = await openTab();
    expect((await registerPasskey(tab, user.token)).status).toBe(200);
    const first = await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
    expect(first.body.data).toMatchObject({ mfaRequired: true, methods: ['webauthn', 'recovery_code'] });
    const webauthn = await tab.evaluate((options) => (globalThis as any).assertion(options), first.body.data.webauthn);
    const second = await t.http().post('/api/v1/auth/login/mfa').send({ mfaToken: first.body.data.mfaToken, webauthn }).expect(200);
    expect((await meRequest(t, second.body.data.accessToken).expect(200)).body.data.amr).toEqual(['pwd', 'hwk']);
  });

  it('removing the passkey ends the sessions it opened (mfa_removed), and it opens nothing any more', async () => {
    const user = await registerAndLogin(t);
    const tab = await openTab();
    const registered = await registerPasskey(tab, user.token);
    expect(registered.status).toBe(200);
    const opened = await passkeyLogin(tab);
    expect(opened.status).toBe(200);
    await t.http().delete(`/api/v1/auth/mfa/factors/${registered.body.data.factorId}`).set('Authorization', `Bearer ${user.token}`).expect(200);
    expect((await meRequest(t, opened.body.data.accessToken)).status).toBe(401);
    const [row] = await t.dataSource.query('SELECT ended_reason FROM sessions WHERE id = $1', [opened.body.data.sessionId]);
    expect(row.ended_reason).toBe('mfa_removed');
    expect(await passkeyLogin(tab)).toEqual({ status: 401, body: { success: false, message: 'Credenciales inválidas' } });
  });
});
