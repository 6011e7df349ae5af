import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import type { Principal } from './principal.js';
import { Public } from './public.decorator.js';

class OpenController {
  @Public()
  open() {}
}

@Public()
class AllPublicController {
  anything() {}
}

class ClosedController {
  closed() {}
}

function contextOf(cls: new () => object, handler: string): ExecutionContext {
  return {
    getHandler: () => (cls.prototype as Record<string, unknown>)[handler],
    getClass: () => cls,
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => ({ headers: {} }), getResponse: () => ({}), getNext: () => undefined }),
    getArgs: () => [],
    getArgByIndex: () => undefined,
    switchToRpc: () => ({}),
    switchToWs: () => ({}),
  } as unknown as ExecutionContext;
}

/** The passport AuthGuard's canActivate, which JwtAuthGuard delegates to for protected routes. */
const passportCanActivate = () =>
  vi.spyOn(Object.getPrototypeOf(JwtAuthGuard.prototype) as { canActivate: (c: ExecutionContext) => unknown }, 'canActivate');

const principal: Principal = {
  userId: '3f1c2a6e-8b7d-4c1e-9a2b-5d6e7f809a1b',
  sessionId: 'a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d',
  email: 'ana@example.com',
};

describe('JwtAuthGuard', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('handleRequest', () => {
    const guard = new JwtAuthGuard(new Reflector());

    it('passes err through unchanged (the same object)', () => {
      for (const err of [
        new AppException(ErrorCode.TokenExpired),
        new AppException(ErrorCode.InvalidToken),
        new Error('connect ECONNREFUSED 127.0.0.1:5432'),
      ]) {
        let thrown: unknown;
        try {
          guard.handleRequest(err, false);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBe(err);
      }
    });

    it('prefers err even when a user came along', () => {
      const err = new Error('boom');
      expect(() => guard.handleRequest(err, principal)).toThrow(err);
    });

    it.each([
      ['false', false],
      ['null', null],
      ['undefined', undefined],
    ])('throws AppException InvalidToken when the user is %s', (_, user) => {
      let thrown: unknown;
      try {
        guard.handleRequest(null, user as false);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(AppException);
      expect((thrown as AppException).code).toBe(ErrorCode.InvalidToken);
    });

    it('returns the user otherwise', () => {
      expect(guard.handleRequest(null, principal)).toBe(principal);
      expect(guard.handleRequest(undefined, principal)).toBe(principal);
    });
  });

  describe('canActivate', () => {
    it('returns true for a @Public() handler without calling passport', async () => {
      const spy = passportCanActivate().mockResolvedValue(false);
      const guard = new JwtAuthGuard(new Reflector());
      expect(await guard.canActivate(contextOf(OpenController, 'open'))).toBe(true);
      expect(spy).not.toHaveBeenCalled();
    });

    it('returns true for a handler of a @Public() class without calling passport', async () => {
      const spy = passportCanActivate().mockResolvedValue(false);
      const guard = new JwtAuthGuard(new Reflector());
      expect(await guard.canActivate(contextOf(AllPublicController, 'anything'))).toBe(true);
      expect(spy).not.toHaveBeenCalled();
    });

    it('asks the reflector about the handler and the class', async () => {
      passportCanActivate().mockResolvedValue(true);
      const reflector = new Reflector();
      const getAllAndOverride = vi.spyOn(reflector, 'getAllAndOverride');
      const ctx = contextOf(OpenController, 'open');
      await new JwtAuthGuard(reflector).canActivate(ctx);
      expect(getAllAndOverride).toHaveBeenCalledWith('isPublic', [ctx.getHandler(), ctx.getClass()]);
    });

    it('delegates a protected route to passport and returns its answer', async () => {
      const answer = Promise.resolve(false);
      const spy = passportCanActivate().mockReturnValue(answer);
      const guard = new JwtAuthGuard(new Reflector());
      const ctx = contextOf(ClosedController, 'closed');
      const result = guard.canActivate(ctx);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy).toHaveBeenCalledWith(ctx);
      await expect(result).resolves.toBe(false);
    });

    it('lets the error of passport (through handleRequest) reach the caller on a protected route', async () => {
      const err = new AppException(ErrorCode.InvalidToken);
      passportCanActivate().mockRejectedValue(err);
      const guard = new JwtAuthGuard(new Reflector());
      await expect(guard.canActivate(contextOf(ClosedController, 'closed'))).rejects.toBe(err);
    });
  });
});
