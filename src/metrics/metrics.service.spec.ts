import { describe, expect, it } from 'vitest';
import type { HttpAdapterHost } from '@nestjs/core';
import type { Database } from '../database/database.js';
import type { MetricsConfig } from './metrics.config.js';
import { MetricsService } from './metrics.service.js';

const config = (enabled: boolean) => ({ METRICS_ENABLED: enabled }) as MetricsConfig;
const pool = { total: 4, idle: 3, waiting: 1 };
const database = { poolUse: () => pool } as unknown as Database;
const adapterHost = {} as HttpAdapterHost;

describe('MetricsService', () => {
  it('disabled: creates nothing, every count is a no-op, and there is nothing to scrape', async () => {
    const metrics = new MetricsService(config(false), database, adapterHost);
    expect(metrics.enabled).toBe(false);
    metrics.httpRequest('GET', '/health', 200, 0.01);
    metrics.sessionCheckBatch(3);
    metrics.sessionsEnded('logout', 1);
    metrics.refreshReuseDetected();
    metrics.rateLimitRefused('login');
    expect(await metrics.scrape()).toBeNull();
  });

  it('enabled: a registry of its own with each series, and the pool read at scrape time', async () => {
    const metrics = new MetricsService(config(true), database, adapterHost);
    metrics.httpRequest('DELETE', '/api/v1/auth/sessions/:id', 404, 0.002);
    metrics.sessionCheckBatch(3);
    metrics.sessionCheckBatch(1);
    metrics.sessionsEnded('logout_all', 2);
    metrics.sessionsEnded('logout', 0);
    metrics.refreshReuseDetected();
    metrics.rateLimitRefused('logout');
    pool.waiting = 2;
    const scraped = (await metrics.scrape())!;
    expect(scraped.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = scraped.body;
    expect(text).toContain('http_requests_total{method="DELETE",route="/api/v1/auth/sessions/:id",status="404"} 1');
    expect(text).toContain('http_request_duration_seconds_bucket{le="0.0025",method="DELETE",route="/api/v1/auth/sessions/:id",status="404"} 1');
    expect(text).toContain('session_checks_total 4');
    expect(text).toContain('session_check_batch_size_count 2');
    expect(text).toContain('sessions_ended_total{reason="logout_all"} 2');
    expect(text).not.toContain('sessions_ended_total{reason="logout"}');
    expect(text).toContain('refresh_reuse_detected_total 1');
    expect(text).toContain('rate_limit_refusals_total{limit="logout"} 1');
    expect(text).toContain('db_pool_connections{state="total"} 4');
    expect(text).toContain('db_pool_connections{state="idle"} 3');
    expect(text).toContain('db_pool_connections{state="waiting"} 2');
    expect(text).toContain('process_cpu_user_seconds_total');
    // Two instances (two apps in one process, as in the tests) do not collide.
    expect(new MetricsService(config(true), database, adapterHost).enabled).toBe(true);
  });

  it('enabled before the database is up: the pool gauge is left out, not an error', async () => {
    const metrics = new MetricsService(config(true), { poolUse: () => null } as unknown as Database, adapterHost);
    expect((await metrics.scrape())!.body).not.toContain('db_pool_connections{');
  });
});
