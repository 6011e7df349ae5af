// A tiny plain-Node HTTP service protected by @auth-backend/receiver, run as its own process
// (`node test/support/protected-service.mjs`) by test/faults/logout-reach.e2e-spec.ts and
// bench/logout-reach.mjs. Needs packages/receiver built (`npm run build --workspace packages/receiver`).
//
//   GET /resource  200 { sub, sid } for a token the receiver accepts, else the receiver's refusal
//   GET /metrics   the receiver's metrics, Prometheus text
//   GET /state     the receiver's metrics as JSON, and this process' event loop delay
//                  (`/state?reset` starts the delay histogram over)
//
// Env: AUTH_URL (required), EVENTS_URL (default AUTH_URL), CLIENT_ID, CLIENT_SECRET, STALENESS_MS
// (default 1000), WHEN_STALE ('introspect' | 'refuse'), PORT (default 0: any). Prints
// `listening <port>` on stdout once the receiver has started (first heartbeat or its timeout).
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createReceiver } from '@auth-backend/receiver';
import { refuse } from '@auth-backend/receiver/node';

const env = process.env;
const receiver = createReceiver({
  url: env.AUTH_URL,
  eventsUrl: env.EVENTS_URL || env.AUTH_URL,
  clientId: env.CLIENT_ID ?? 'svc',
  clientSecret: env.CLIENT_SECRET ?? '',
  stalenessMs: Number(env.STALENESS_MS ?? 1000),
  whenStale: env.WHEN_STALE === 'refuse' ? 'refuse' : 'introspect',
  logger: env.RECEIVER_LOG ? { warn: (m, c) => console.error('warn', m, c ?? ''), info: (m, c) => console.error('info', m, c ?? '') } : undefined,
});

// How late this process' event loop runs (ms), since the last GET /state?reset.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
const ms = (ns) => Math.round(ns / 1e4) / 100;

const server = createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/resource') {
      const result = await receiver.authenticate(req.headers.authorization);
      if (!result.ok) return refuse(res, result);
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-verified-via', result.via);
      return res.end(JSON.stringify({ sub: result.claims.sub, sid: result.claims.sid }));
    }
    if (req.method === 'GET' && req.url === '/metrics') {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      return res.end(receiver.metricsText());
    }
    if (req.method === 'GET' && (req.url === '/state' || req.url === '/state?reset')) {
      res.setHeader('content-type', 'application/json');
      const eventLoopDelayMs = { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) };
      if (req.url === '/state?reset') loopDelay.reset();
      return res.end(JSON.stringify({ ...receiver.metrics(), eventLoopDelayMs }));
    }
    res.statusCode = 404;
    res.end();
  } catch (err) {
    res.statusCode = 500;
    res.end(String(err));
  }
});
server.keepAliveTimeout = 60_000;

await receiver.start();
server.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  void receiver.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
