import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthClient, createAuthClient, type SignedOutReason } from '../../packages/client/src/index.js';
import { startApp, type TestApp } from '../support/app.js';
import { listen } from '../support/listen.js';
import { register } from '../support/users.js';

// The typed web client (packages/client) in Node, bearer mode, against the real app on a socket:
// what an app's e2e suite built on it does. The browser, cookie mode and tabs are in
// test/browser/web-client.e2e-spec.ts.

const TTL_SECONDS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fetch that counts the refreshes it carries, and can be told to lose an answer. */
function countingFetch() {
  const counted = { refreshes: 0, loseNextRefreshAnswer: false, stretchExpiry: false };
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const refresh = request.url.endsWith('/auth/refresh');
    if (refresh) counted.refreshes++;
    const response = await fetch(request);
    if (refresh && counted.loseNextRefreshAnswer) {
      counted.loseNextRefreshAnswer = false;
      throw new TypeError('fetch failed');
    }
    if (counted.stretchExpiry && response.ok && /\/auth\/(login|refresh)$/.test(request.url)) {
      // The client believes the token lives an hour: only the server's 403 can tell it otherwise.
      const body = (await response.json()) as { data: object };
      return Response.json({ ...body, data: { ...body.data, expiresIn: 3600 } });
    }
    return response;
  };
  return { counted, fetcher };
}

describe('the typed web client in Node (bearer mode)', () => {
  let t: TestApp;
  let baseUrl: string;
  const clients: AuthClient[] = [];

  beforeAll(async () => {
    t = await startApp({ JWT_ACCESS_TTL: String(TTL_SECONDS) });
    baseUrl = await listen(t);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await t.close();
  });

  async function signedIn(options: { stretchExpiry?: boolean } = {}) {
    const user = await register(t);
    const { counted, fetcher } = countingFetch();
    counted.stretchExpiry = options.stretchExpiry ?? false;
    const client = createAuthClient({ baseUrl, fetch: fetcher });
    clients.push(client);
    const signedOut: SignedOutReason[] = [];
    client.onSignedOut((reason) => signedOut.push(reason));
    await client.login(user.email, user.password);
    return { user, client, counted, signedOut };
  }

  it('logs in and calls a typed operation', async () => {
    const { user, client } = await signedIn();
    const { data, response } = await client.api.GET('/api/v1/auth/me');
    expect(response.status).toBe(200);
    expect(data?.data.email).toBe(user.email);
    expect(client.signedIn).toBe(true);
  });

  it('outlives the access token without the caller noticing: one refresh, however many calls wait for it', async () => {
    const { client, counted } = await signedIn();
    await sleep(TTL_SECONDS * 1000 + 300);
    const answers = await Promise.all(Array.from({ length: 6 }, () => client.api.GET('/api/v1/auth/me')));
    expect(answers.map((a) => a.response.status)).toStrictEqual([200, 200, 200, 200, 200, 200]);
    expect(counted.refreshes).toBe(1);
  });

  it('on a 403 "El token ha expirado" refreshes once and sends the call again', async () => {
    const { client, counted } = await signedIn({ stretchExpiry: true });
    await sleep(TTL_SECONDS * 1000 + 300);
    const { response, data } = await client.api.GET('/api/v1/auth/sessions');
    expect(response.status).toBe(200);
    expect(data?.data.sessions.filter((s) => s.current)).toHaveLength(1);
    expect(counted.refreshes).toBe(1);
  });

  it('a refresh whose answer was lost is sent again and gets the same successor: still signed in', async () => {
    const { client, counted, signedOut } = await signedIn();
    counted.loseNextRefreshAnswer = true;
    await sleep(TTL_SECONDS * 1000 + 300);
    expect((await client.api.GET('/api/v1/auth/me')).response.status).toBe(200);
    expect(counted.refreshes).toBe(2);
    // Later refreshes go on from that successor: the retry forked nothing.
    await sleep(TTL_SECONDS * 1000 + 300);
    expect((await client.api.GET('/api/v1/auth/me')).response.status).toBe(200);
    expect(signedOut).toStrictEqual([]);
  });

  it('a 401 for the session signs out, once, with session-ended', async () => {
    const { user, client, signedOut } = await signedIn();
    const elsewhere = createAuthClient({ baseUrl });
    clients.push(elsewhere);
    await elsewhere.login(user.email, user.password);
    await elsewhere.logout('all');
    expect((await client.api.GET('/api/v1/auth/me')).response.status).toBe(401);
    expect(client.signedIn).toBe(false);
    expect((await client.api.GET('/api/v1/auth/me')).response.status).toBe(401);
    expect(signedOut).toStrictEqual(['session-ended']);
  });

  it('a 401 for credentials (a wrong current password) is not the end of the session', async () => {
    const { client, signedOut } = await signedIn();
    const { response, error } = await client.api.POST('/api/v1/auth/password', {
      body: { currentPassword: 'not-the-password', newPassword: 'another-password-1' },
    });
    expect(response.status).toBe(401);
    expect(error?.message).toBe('Credenciales inválidas');
    expect(client.signedIn).toBe(true);
    expect(signedOut).toStrictEqual([]);
  });

  it('logout ends the session on the server and here', async () => {
    const { client, signedOut } = await signedIn();
    const token = await client.refresh();
    await client.logout();
    expect(signedOut).toStrictEqual(['logout']);
    expect(client.signedIn).toBe(false);
    const res = await fetch(`${baseUrl}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
  });

  it('a failed login throws the API\'s message and signs nobody in', async () => {
    const client = createAuthClient({ baseUrl });
    clients.push(client);
    await expect(client.login('nobody@example.com', 'password-123')).rejects.toMatchObject({ status: 401, message: 'Credenciales inválidas' });
    expect(client.signedIn).toBe(false);
  });
});
