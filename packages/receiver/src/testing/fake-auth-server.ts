import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { SessionEndedEvent } from '../wire.js';

/** A stand-in for the auth server in tests: keys, tokens, feed, stream and introspection it controls. */
export interface FakeAuthServer {
  url: string;
  kid: string;
  publicJwk: JWK;
  privateKey: CryptoKey;
  clientId: string;
  clientSecret: string;
  /** Every event committed, in commit order. */
  events: SessionEndedEvent[];
  /** Each request, in arrival order. */
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  /** The Last-Event-ID of each stream opened. */
  streams: (string | undefined)[];
  heartbeats: boolean;
  lagMs: number;
  /** `up`, `down` (500) or `closed` (connection reset); `delayMs` holds each answer back. */
  introspection: { mode: 'up' | 'down' | 'closed'; delayMs: number };
  /** A token for a new session, signed with the server's key unless told otherwise. */
  sign(claims?: JWTPayload, options?: { header?: Record<string, unknown>; expiresIn?: string | number; key?: CryptoKey }): Promise<string>;
  /** Commits a session end and pushes it to the open streams. */
  end(sessionId: string, options?: { version?: number; denyUntil?: Date; push?: boolean }): SessionEndedEvent;
  /** Writes raw SSE text to the open streams. */
  broadcast(raw: string): void;
  /** Cuts every open stream's connection. */
  dropStreams(): void;
  connectedStreams(): number;
  count(path: string): number;
  close(): Promise<void>;
}

export async function startFakeAuthServer(options: { heartbeatMs?: number } = {}): Promise<FakeAuthServer> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk: JWK = { ...jwk, kid, alg: 'EdDSA', use: 'sig' };
  const clientId = 'receiver-test';
  const clientSecret = 'receiver-secret';
  const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  const clients = new Set<ServerResponse>();
  let nextId = 1;
  let sessions = 0;

  const fake: FakeAuthServer = {
    url: '',
    kid,
    publicJwk,
    privateKey,
    clientId,
    clientSecret,
    events: [],
    requests: [],
    streams: [],
    heartbeats: true,
    lagMs: 0,
    introspection: { mode: 'up', delayMs: 0 },
    async sign(claims = {}, signOptions = {}) {
      const jwt = new SignJWT({ sid: `session-${++sessions}`, jti: `jti-${sessions}`, ...claims })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid, ...signOptions.header })
        .setSubject((claims.sub as string | undefined) ?? 'user-1')
        .setIssuer((claims.iss as string | undefined) ?? 'auth-backend')
        .setAudience((claims.aud as string | undefined) ?? 'auth-backend-clients')
        .setIssuedAt()
        .setExpirationTime(signOptions.expiresIn ?? '15m');
      return jwt.sign(signOptions.key ?? privateKey);
    },
    end(sessionId, endOptions = {}) {
      const event: SessionEndedEvent = {
        id: String(nextId++),
        type: 'session.ended',
        timestamp: new Date().toISOString(),
        data: {
          sessionId,
          userId: 'user-1',
          reason: 'logout',
          version: endOptions.version ?? 1,
          denyUntil: (endOptions.denyUntil ?? new Date(Date.now() + 15 * 60_000)).toISOString(),
        },
      };
      fake.events.push(event);
      if (endOptions.push !== false) for (const res of clients) sendEvent(res, event);
      return event;
    },
    broadcast(raw) {
      for (const res of clients) res.write(raw);
    },
    dropStreams() {
      for (const res of clients) res.destroy();
      clients.clear();
    },
    connectedStreams: () => clients.size,
    count: (path) => fake.requests.filter((r) => new URL(r.url, 'http://x').pathname === path).length,
    close: () =>
      new Promise((resolve) => {
        clearInterval(beat);
        fake.dropStreams();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const server = createServer((req, res) => {
    fake.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/.well-known/jwks.json') return json(res, 200, { keys: [publicJwk] });
    if (req.headers.authorization !== basic) return json(res, 401, { error: 'invalid_client' });
    if (url.pathname === '/api/v1/events' && req.method === 'GET') {
      const after = url.searchParams.get('after');
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const events = fake.events.filter((e) => after === null || Number(e.id) > Number(after)).slice(0, limit);
      return json(res, 200, { success: true, message: 'ok', data: { events, cursor: events.at(-1)?.id ?? after } });
    }
    if (url.pathname === '/api/v1/events/stream' && req.method === 'GET') {
      const last = req.headers['last-event-id'] as string | undefined;
      fake.streams.push(last);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('retry: 1000\n\n');
      const now = Date.now();
      const replay = last === undefined ? fake.events.filter((e) => Date.parse(e.data.denyUntil) > now) : fake.events.filter((e) => Number(e.id) > Number(last));
      for (const event of replay) sendEvent(res, event);
      clients.add(res);
      res.on('close', () => clients.delete(res));
      return;
    }
    if (url.pathname === '/api/v1/auth/introspect' && req.method === 'POST') {
      void introspect(req, res);
      return;
    }
    json(res, 404, { success: false, message: 'not found' });
  });

  async function introspect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const { mode, delayMs } = fake.introspection;
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (mode === 'closed') return void req.socket.destroy();
    if (mode === 'down') return json(res, 500, { success: false, message: 'down' });
    try {
      const { token } = JSON.parse(raw) as { token: string };
      const { payload } = await jwtVerify(token, publicKey, { algorithms: ['EdDSA'] });
      if (fake.events.some((e) => e.data.sessionId === payload.sid)) return json(res, 200, { active: false });
      json(res, 200, { active: true, ...payload, token_type: 'access_token' });
    } catch {
      json(res, 200, { active: false });
    }
  }

  const beat = setInterval(() => {
    if (!fake.heartbeats) return;
    const data = JSON.stringify({ time: new Date().toISOString(), lagMs: fake.lagMs });
    for (const res of clients) res.write(`event: heartbeat\ndata: ${data}\n\n`);
  }, options.heartbeatMs ?? 50);
  beat.unref();

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

function sendEvent(res: ServerResponse, event: SessionEndedEvent): void {
  res.write(`id: ${event.id}\nevent: session.ended\ndata: ${JSON.stringify(event)}\n\n`);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
