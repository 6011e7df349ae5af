import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { runUntilExit, startServerProcess } from '../support/server-process.js';
import { freePort, listening } from '../support/ports.js';
import { parseSamples, scrape } from '../support/prometheus.js';
import { onPostgres, TEST_DATABASE_URL } from '../support/app.js';

// The metrics server of a real `node main.js`: its own port, closed on SIGTERM, refused when taken.

describe('a real `node main.js` with METRICS_ENABLED=true', () => {
  const database: Record<string, string> = onPostgres ? { DATABASE_URL: TEST_DATABASE_URL! } : { PGLITE_DATA_DIR: 'memory://' };

  it('serves /metrics on METRICS_PORT only, and closes it on SIGTERM', async () => {
    const metricsPort = await freePort();
    const server = await startServerProcess({ ...database, METRICS_ENABLED: 'true', METRICS_PORT: String(metricsPort) });
    try {
      await server.http().get('/health/live').expect(200);
      const { status, text } = await scrape(metricsPort);
      expect(status).toBe(200);
      expect(parseSamples(text).some((s) => s.name === 'http_requests_total' && s.labels.route === '/health/live')).toBe(true);
      await server.http().get('/metrics').expect(404);
      await server.kill('SIGTERM');
      expect(server.exitCode()).toBe(0);
      expect(await listening(metricsPort)).toBe(false);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('refuses to start when METRICS_PORT is taken, naming it', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
    try {
      const { port } = taken.address() as net.AddressInfo;
      const { code, output } = await runUntilExit({ ...database, METRICS_ENABLED: 'true', METRICS_PORT: String(port) });
      expect(code).toBe(1);
      expect(output).toContain(`METRICS_PORT ${port}`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 60_000);
});

