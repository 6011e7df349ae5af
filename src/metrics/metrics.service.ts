import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Database } from '../database/database.js';
import { MetricsConfig } from './metrics.config.js';

const UNMATCHED_ROUTE = '(unmatched)';

interface Instruments {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  durations: Histogram<'method' | 'route' | 'status'>;
  sessionChecks: Counter;
  sessionCheckBatchSizes: Histogram;
  sessionsEnded: Counter<'reason'>;
  refreshReuse: Counter;
  rateLimitRefusals: Counter<'limit'>;
  webhookDeliveries: Counter<'outcome'>;
  mailFailures: Counter<'class'>;
  introspections: Counter<'active'>;
  clientAuthFailures: Counter;
  eventStreamListeners: Gauge;
  webhookBacklog: { read?: () => Promise<{ pending: number; dead: number }> };
  mailBacklog: { read?: () => Promise<Record<string, number>> };
}

/** A registry of its own: prom-client's global one collects whatever any library registers there. */
@Injectable()
export class MetricsService implements OnModuleInit {
  private readonly instruments: Instruments | null;

  constructor(
    config: MetricsConfig,
    database: Database,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.instruments = config.METRICS_ENABLED ? createInstruments(database) : null;
  }

  /** The route label is the pattern, never the URL, so ids never become series. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!this.instruments || !fastify) return;
    fastify.addHook('onResponse', (request, reply, done) => {
      this.httpRequest(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  get enabled(): boolean {
    return this.instruments !== null;
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    if (!this.instruments) return;
    const labels = { method, route, status: String(status) };
    this.instruments.requests.inc(labels);
    this.instruments.durations.observe(labels, seconds);
  }

  sessionCheckBatch(size: number): void {
    if (!this.instruments) return;
    this.instruments.sessionChecks.inc(size);
    this.instruments.sessionCheckBatchSizes.observe(size);
  }

  sessionsEnded(reason: string, count: number): void {
    if (!this.instruments || count === 0) return;
    this.instruments.sessionsEnded.inc({ reason }, count);
  }

  refreshReuseDetected(): void {
    this.instruments?.refreshReuse.inc();
  }

  rateLimitRefused(limit: string): void {
    this.instruments?.rateLimitRefusals.inc({ limit });
  }

  webhookDelivery(outcome: 'delivered' | 'retry' | 'dead' | 'unknown'): void {
    this.instruments?.webhookDeliveries.inc({ outcome });
  }

  mailDeliveryFailed(kind: 'transient' | 'sender' | 'recipient' | 'unknown'): void {
    this.instruments?.mailFailures.inc({ class: kind });
  }

  readMailBacklogWith(read: () => Promise<Record<string, number>>): void {
    if (this.instruments) this.instruments.mailBacklog.read = read;
  }

  introspected(active: boolean): void {
    this.instruments?.introspections.inc({ active: String(active) });
  }

  clientAuthFailed(): void {
    this.instruments?.clientAuthFailures.inc();
  }

  eventStreamListeners(change: 1 | -1): void {
    this.instruments?.eventStreamListeners.inc(change);
  }

  readWebhookBacklogWith(read: () => Promise<{ pending: number; dead: number }>): void {
    if (this.instruments) this.instruments.webhookBacklog.read = read;
  }

  async scrape(): Promise<{ contentType: string; body: string } | null> {
    if (!this.instruments) return null;
    const { registry } = this.instruments;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }
}

function createInstruments(database: Database): Instruments {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  new Gauge({
    name: 'db_pool_connections',
    help: 'Connections of the database pool: total, idle, and clients waiting for one',
    labelNames: ['state'],
    registers,
    // Read at scrape time: nothing to keep up to date on the queries' path.
    collect() {
      const use = database.poolUse();
      if (!use) return;
      this.set({ state: 'total' }, use.total);
      this.set({ state: 'idle' }, use.idle);
      this.set({ state: 'waiting' }, use.waiting);
    },
  });
  new Counter({
    name: 'db_retries_total',
    help: 'Statements and transactions run again after PostgreSQL chose them as a deadlock victim or could not serialize them',
    registers,
    collect() {
      this.reset();
      this.inc(database.retries);
    },
  });
  const webhookBacklog: Instruments['webhookBacklog'] = {};
  new Gauge({
    name: 'webhook_outbox_deliveries',
    help: 'Webhook deliveries in the outbox: pending (waiting for an attempt) and dead (given up, kept WEBHOOK_RETENTION_DAYS)',
    labelNames: ['status'],
    registers,
    // One count at scrape time; a database that does not answer leaves the series out of this scrape.
    async collect() {
      const counts = await webhookBacklog.read?.().catch(() => undefined);
      if (!counts) return void this.reset();
      this.set({ status: 'pending' }, counts.pending);
      this.set({ status: 'dead' }, counts.dead);
    },
  });
  const mailBacklog: Instruments['mailBacklog'] = {};
  new Gauge({
    name: 'mail_outbox_messages',
    help: 'Mail in the outbox not sent: pending (waiting for an attempt), unknown (handed over without an answer: held for an operator), dead (address refused for good)',
    labelNames: ['status'],
    registers,
    async collect() {
      const counts = await mailBacklog.read?.().catch(() => undefined);
      if (!counts) return void this.reset();
      for (const status of ['pending', 'unknown', 'dead']) this.set({ status }, counts[status] ?? 0);
    },
  });
  return {
    registry,
    webhookBacklog,
    mailBacklog,
    mailFailures: new Counter({
      name: 'mail_delivery_failures_total',
      help: 'Failed attempts at sending a mail, by class: transient (retried), sender (the server refuses our mail: login, quota, policy; retried, alert), recipient (address refused for good: dead), unknown (no answer after the message was handed over: held, alert)',
      labelNames: ['class'],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'webhook_deliveries_total',
      help: 'Attempts at delivering a webhook, by outcome: delivered, retry (failed, tried again later), dead (given up)',
      labelNames: ['outcome'],
      registers,
    }),
    introspections: new Counter({
      name: 'introspections_total',
      help: 'Tokens introspected for other services, by answer (active true or false)',
      labelNames: ['active'],
      registers,
    }),
    clientAuthFailures: new Counter({
      name: 'introspection_client_failures_total',
      help: 'Requests to introspection or the session events whose HTTP Basic credentials matched no INTROSPECTION_CLIENTS pair',
      registers,
    }),
    eventStreamListeners: new Gauge({
      name: 'event_stream_listeners',
      help: 'Services listening to the session event stream of this instance',
      registers,
    }),
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    durations: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending its response, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    sessionChecks: new Counter({
      name: 'session_checks_total',
      help: 'Session lookups of authenticated requests',
      registers,
    }),
    sessionCheckBatchSizes: new Histogram({
      name: 'session_check_batch_size',
      help: 'Session lookups answered by one database query',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    }),
    sessionsEnded: new Counter({
      name: 'sessions_ended_total',
      help: 'Sessions ended, by reason (logout, logout_others, logout_all, revoked_by_id, password_changed, refresh_reuse)',
      labelNames: ['reason'],
      registers,
    }),
    refreshReuse: new Counter({
      name: 'refresh_reuse_detected_total',
      help: 'Rotated refresh tokens presented again past the grace period: each ended its session',
      registers,
    }),
    rateLimitRefusals: new Counter({
      name: 'rate_limit_refusals_total',
      help: 'Requests refused with 429, by limit',
      labelNames: ['limit'],
      registers,
    }),
  };
}
