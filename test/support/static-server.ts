import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// A page's own origin for browser tests: serves fixed files, nothing else.

export type StaticFiles = Record<string, { type: string; body: string | (() => string) }>;

export interface StaticServer {
  origin: string;
  close: () => Promise<void>;
}

export const fromFile = (path: string) => () => readFileSync(path, 'utf8');

export async function serveStatic(files: StaticFiles): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(typeof file.body === 'function' ? file.body() : file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
