import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MetricsConfig } from './metrics.config.js';
import { MetricsService } from './metrics.service.js';

/** A plain node:http server apart from the API: none of its hooks or guards, never on the public port. */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private server: Server | null = null;

  constructor(
    private readonly metrics: MetricsService,
    private readonly config: MetricsConfig,
  ) {}

  get port(): number | null {
    return (this.server?.address() as AddressInfo | null)?.port ?? null;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.metrics.enabled) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
        return;
      }
      this.metrics.scrape().then(
        (scraped) => {
          res.writeHead(200, { 'content-type': scraped!.contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : scraped!.body);
        },
        (err: unknown) => {
          this.logger.error({ err: String(err) }, 'Could not collect the metrics');
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Error\n');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.METRICS_PORT, '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`Cannot serve metrics on METRICS_PORT ${this.config.METRICS_PORT}: ${err.code ?? err.message}`);
    });
    this.server = server;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // A scraper's keep-alive connection would otherwise hold the close open.
    server.closeAllConnections();
    await closed;
  }
}
