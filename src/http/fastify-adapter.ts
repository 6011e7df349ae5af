import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { Env } from '../config/env.validation.js';
import { trustProxyOf } from '../config/load-env.js';
import { answerClientError } from './client-errors.js';
import { requestIdOf } from './request-id.js';
import { answerRouterError } from './router-errors.js';

export const BODY_LIMIT = 16 * 1024;

/**
 * How long a client may take: to send a whole request (headers and body, which is 16 KiB at
 * most), and to stay silent on a connection mid-request. Without them, a request whose body never
 * arrives holds its connection, and a file descriptor, for ever.
 */
const REQUEST_TIMEOUT_MS = 10_000;
const CONNECTION_TIMEOUT_MS = 30_000;

export function fastifyAdapter(env: Env): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    // Node checks those timeouts every 30 s by default, which would let a stalled request live
    // for 40 s; headers get the same bound as the whole request.
    http: { connectionsCheckingInterval: 1000, headersTimeout: REQUEST_TIMEOUT_MS },
    // While closing, requests on open connections are still answered (with Connection: close),
    // not with Fastify's own 503 body, which is no envelope.
    return503OnClosing: false,
    trustProxy: trustProxyOf(env),
    genReqId: requestIdOf,
    requestIdHeader: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerRouterError,
  });
}
