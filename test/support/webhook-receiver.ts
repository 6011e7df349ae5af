import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

// Webhook endpoints for the tests: one HTTP server, an endpoint a path, each with its own secret.
// Every request is checked with the standardwebhooks package, as a receiver would, and kept.

export interface ReceivedWebhook {
  path: string;
  id: string;
  timestamp: number;
  /** The payload as Webhook.verify returned it; undefined when the request did not verify. */
  payload: any;
  verified: boolean;
  headers: IncomingHttpHeaders;
  /** The status this request was answered with; null while it hangs. */
  status: number | null;
}

/** How a path answers its n-th request (1-based): a status, or `hang` (never answers). */
export type Answer = number | 'hang';

export interface WebhookReceiver {
  /** `url|whsec_…` pairs of these paths, for WEBHOOK_ENDPOINTS. */
  endpoints(...paths: string[]): string;
  url(path: string): string;
  secret(path: string): string;
  /** From now on `path` answers so (default 204). */
  answer(path: string, how: Answer | ((n: number) => Answer)): void;
  /** Every request to `path` (and webhook id), verified or not, in arrival order. */
  received(path: string, id?: string): ReceivedWebhook[];
  /** The requests to `path` answered with a 2xx. */
  delivered(path: string, id?: string): ReceivedWebhook[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const secrets = new Map<string, string>();
  const answers = new Map<string, (n: number) => Answer>();
  const log: ReceivedWebhook[] = [];
  const hanging = new Set<ServerResponse>();
  const secret = (path: string) => {
    if (!secrets.has(path)) secrets.set(path, `whsec_${randomBytes(24).toString('base64')}`);
    return secrets.get(path)!;
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const body = Buffer.concat(chunks).toString('utf8');
      let payload: unknown;
      let verified = false;
      try {
        payload = new Webhook(secret(path)).verify(body, req.headers as Record<string, string>);
        verified = true;
      } catch {
        payload = undefined;
      }
      const entry: ReceivedWebhook = {
        path,
        id: String(req.headers['webhook-id']),
        timestamp: Number(req.headers['webhook-timestamp']),
        payload,
        verified,
        headers: req.headers,
        status: null,
      };
      log.push(entry);
      const how = (answers.get(path) ?? (() => 204))(log.filter((r) => r.path === path).length);
      if (how === 'hang') return void hanging.add(res);
      entry.status = how;
      res.writeHead(how).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const received = (path: string, id?: string) => log.filter((r) => r.path === path && (id === undefined || r.id === id));

  return {
    endpoints: (...paths) => paths.map((path) => `${base}${path}|${secret(path)}`).join(','),
    url: (path) => `${base}${path}`,
    secret,
    answer: (path, how) => answers.set(path, typeof how === 'function' ? how : () => how),
    received,
    delivered: (path, id) => received(path, id).filter((r) => r.status !== null && r.status >= 200 && r.status < 300),
    close: () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
