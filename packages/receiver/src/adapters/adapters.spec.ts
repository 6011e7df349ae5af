import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, HttpException, Module, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createReceiver, type Receiver } from '../receiver.js';
import type { ReceiverClaims, RefusalReason } from '../result.js';
import { startFakeAuthServer, type FakeAuthServer } from '../testing/fake-auth-server.js';
import { receiverMiddleware } from './express.adapter.js';
import { receiverHook } from './fastify.adapter.js';
import { createReceiverGuard } from './nest.adapter.js';
import { refuse } from './node.adapter.js';
import { refusalOf } from './refusal.js';

const INVALID_TOKEN = 'Bearer error="invalid_token"';

describe('refusalOf', () => {
  it.each<[RefusalReason, number, string]>([
    ['invalid', 401, 'Token no proporcionado o inválido'],
    ['ended', 401, 'Token no proporcionado o inválido'],
    ['expired', 403, 'El token ha expirado'],
    ['stale', 503, 'Servicio no disponible'],
    ['unavailable', 503, 'Servicio no disponible'],
  ])('%s: %i', (reason, status, message) => {
    const refusal = refusalOf(reason);
    expect(refusal.status).toBe(status);
    expect(refusal.body).toEqual({ success: false, message });
    expect(refusal.headers['cache-control']).toBe('no-store');
    expect(refusal.headers['www-authenticate']).toBe(status === 503 ? undefined : INVALID_TOKEN);
    expect(refusal.headers['retry-after']).toBe(status === 503 ? '1' : undefined);
  });
});

describe('adapters', () => {
  let fake: FakeAuthServer;
  let receiver: Receiver;
  let good: string;
  let expired: string;

  beforeAll(async () => {
    fake = await startFakeAuthServer();
    receiver = createReceiver({ url: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret });
    await receiver.start();
    good = await fake.sign({ sub: 'user-9', sid: 'session-9' });
    expired = await fake.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 10 });
  });

  afterAll(async () => {
    await receiver.close();
    await fake.close();
  });

  describe('plain node:http', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      server = createServer(async (req, res) => {
        const result = await receiver.authenticate(req.headers.authorization);
        if (!result.ok) return refuse(res, result);
        res.end(JSON.stringify({ sub: result.claims.sub }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('passes a good token', async () => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${good}` } });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ sub: 'user-9' });
    });

    it('answers 401 with WWW-Authenticate and the envelope without a token', async () => {
      const response = await fetch(url);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(INVALID_TOKEN);
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await response.json()).toEqual({ success: false, message: 'Token no proporcionado o inválido' });
    });

    it('answers 403 to an expired token', async () => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${expired}` } });
      expect(response.status).toBe(403);
    });
  });

  describe('Express (structural)', () => {
    const response = () => {
      const headers: Record<string, string> = {};
      return { statusCode: 200, headers, body: '', setHeader: (n: string, v: string) => void (headers[n] = v), end(b: string) { this.body = b; } };
    };

    it('sets req.auth and calls next', async () => {
      const req: { headers: { authorization?: string }; auth?: ReceiverClaims } = { headers: { authorization: `Bearer ${good}` } };
      const res = response();
      const next = vi.fn();
      receiverMiddleware(receiver)(req, res, next);
      await vi.waitFor(() => expect(next).toHaveBeenCalledWith());
      expect(req.auth).toMatchObject({ sub: 'user-9', sid: 'session-9' });
    });

    it('answers the refusal without calling next', async () => {
      const res = response();
      const next = vi.fn();
      receiverMiddleware(receiver)({ headers: { authorization: 'Bearer nope' } }, res, next);
      await vi.waitFor(() => expect(res.body).not.toBe(''));
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe(INVALID_TOKEN);
      expect(next).not.toHaveBeenCalled();
    });

    it('passes an error to next', async () => {
      const failing = { authenticate: () => Promise.reject(new Error('boom')) } as unknown as Receiver;
      const next = vi.fn();
      receiverMiddleware(failing)({ headers: {} }, response(), next);
      await vi.waitFor(() => expect(next).toHaveBeenCalledWith(expect.any(Error)));
    });
  });

  describe('Fastify', () => {
    const app = Fastify();
    beforeAll(async () => {
      app.decorateRequest('auth', null);
      app.addHook('onRequest', receiverHook(receiver));
      app.get('/me', async (request) => ({ sub: (request as unknown as { auth: ReceiverClaims }).auth.sub }));
      await app.ready();
    });
    afterAll(() => app.close());

    it('sets request.auth', async () => {
      const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${good}` } });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ sub: 'user-9' });
    });

    it('replies with the refusal', async () => {
      const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${expired}` } });
      expect(response.statusCode).toBe(403);
      expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN);
      expect(response.json()).toEqual({ success: false, message: 'El token ha expirado' });
    });
  });

  describe('Nest', () => {
    // Decorators applied by hand: this package's tsconfig does not enable their syntax.
    class MeController {
      me(request: { auth: ReceiverClaims }) {
        return { sub: request.auth.sub };
      }
    }
    Req()(MeController.prototype, 'me', 0);
    Get('me')(MeController.prototype, 'me', Object.getOwnPropertyDescriptor(MeController.prototype, 'me')!);
    Controller()(MeController);
    class AppModule {}
    Module({ controllers: [MeController] })(AppModule);

    let app: NestFastifyApplication;
    beforeAll(async () => {
      app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: false });
      app.useGlobalGuards(createReceiverGuard(receiver, (refusal) => new HttpException(refusal.body, refusal.status)));
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
    });
    afterAll(() => app.close());

    it('lets a good token through with request.auth', async () => {
      const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${good}` } });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ sub: 'user-9' });
    });

    it('throws the mapped exception, with the refusal headers set', async () => {
      const response = await app.inject({ url: '/me' });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe(INVALID_TOKEN);
      expect(response.json()).toEqual({ success: false, message: 'Token no proporcionado o inválido' });
    });
  });
});
