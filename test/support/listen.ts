import type { AddressInfo } from 'node:net';
import type { TestApp } from './app.js';

/**
 * Makes an app from startApp listen on a free port of 127.0.0.1, for clients that need a real
 * socket (a browser, raw connections): its base URL, such as `http://127.0.0.1:41234`. The app's
 * own `close()` stops the listener too.
 */
export async function listen(t: TestApp): Promise<string> {
  await t.app.listen(0, '127.0.0.1');
  const { port } = t.app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}
