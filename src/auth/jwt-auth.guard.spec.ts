import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { describe, expect, it, vi } from 'vitest';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import type { AccessTokenService } from './access-token.service.js';
import type { FactorsConfig } from '../factors/factors.config.js';
import type { FactorsRepository } from '../factors/factors.repository.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import type { Principal } from './principal.js';
import { Public } from './public.decorator.js';
import { Roles } from './roles.decorator.js';

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

  @Roles('admin', 'editor')
  editors() {}

  @Roles('admin')
  admins() {}
}

@Roles('admin')
class AdminController {
  anything() {}
}

// One handler, inherited by a public class and a protected one: each keeps its own class's rules.
class BaseController {
  shared() {}
}

@Public()
class PublicChildController extends BaseController {}

class ProtectedChildController extends BaseController {}

function contextOf(cls: new () => object, handler: string, request: Record<string, unknown> = { headers: {} }): ExecutionContext {
  return {
    getHandler: () => (cls.prototype as Record<string, unknown>)[handler],
    getClass: () => cls,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

const principal: Principal = {
  userId: '3f1c2a6e-8b7d-4c1e-9a2b-5d6e7f809a1b',
  sessionId: 'a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d',
  email: 'ana@example.com',
  roles: ['editor'],
  amr: ['pwd'],
  authenticatedAt: new Date(),
};

const factorsConfig = { STEP_UP_MAX_AGE: 300 } as FactorsConfig;
const noFactors = { activeTypesOf: vi.fn(async () => []) } as unknown as FactorsRepository;

const guardWith = (verify: AccessTokenService['verify']) =>
  new JwtAuthGuard(new Reflector(), { verify: vi.fn(verify) } as unknown as AccessTokenService, noFactors, factorsConfig);

describe('JwtAuthGuard', () => {
  it.each([
    ['a @Public() handler', OpenController, 'open'],
    ['a handler of a @Public() class', AllPublicController, 'anything'],
  ])('lets %s through without looking at any token', async (_, cls, handler) => {
    const verify = vi.fn();
    const guard = new JwtAuthGuard(new Reflector(), { verify } as unknown as AccessTokenService, noFactors, factorsConfig);
    await expect(guard.canActivate(contextOf(cls, handler))).resolves.toBe(true);
    expect(verify).not.toHaveBeenCalled();
  });

  it('verifies the bearer token of a protected route and sets request.user to its principal', async () => {
    const guard = guardWith(async () => principal);
    const request = { headers: { authorization: 'Bearer abc.def.ghi' } } as Record<string, unknown>;
    await expect(guard.canActivate(contextOf(ClosedController, 'closed', request))).resolves.toBe(true);
    expect(request.user).toBe(principal);
  });

  it('passes what is not a bearer header to verify as null, which refuses it', async () => {
    const seen: unknown[] = [];
    const guard = guardWith(async (token) => (seen.push(token), Promise.reject(new AppException(ErrorCode.InvalidToken))));
    for (const authorization of [undefined, 'Basic abc', 'Bearer', 'Bearer a b']) {
      await expect(guard.canActivate(contextOf(ClosedController, 'closed', { headers: { authorization } }))).rejects.toBeInstanceOf(AppException);
    }
    expect(seen).toStrictEqual([null, null, null, null]);
  });

  it('lets a @Roles() route through for a user holding one of its roles', async () => {
    const guard = guardWith(async () => principal);
    await expect(guard.canActivate(contextOf(ClosedController, 'editors', { headers: {} }))).resolves.toBe(true);
  });

  it.each([
    ['a handler', ClosedController, 'admins'],
    ['a controller', AdminController, 'anything'],
  ])('answers 403 "No tiene permiso para esta acción" to a user lacking the roles of %s', async (_, cls, handler) => {
    const guard = guardWith(async () => principal);
    const refused = guard.canActivate(contextOf(cls, handler, { headers: {} }));
    await expect(refused).rejects.toBeInstanceOf(AppException);
    await expect(refused).rejects.toMatchObject({ code: ErrorCode.Forbidden });
  });

  it('lets the error of verification reach the caller as it is (403, or a database fault)', async () => {
    for (const err of [new AppException(ErrorCode.TokenExpired), new Error('connect ECONNREFUSED 127.0.0.1:5432')]) {
      const guard = guardWith(async () => Promise.reject(err));
      await expect(guard.canActivate(contextOf(ClosedController, 'closed', { headers: { authorization: 'Bearer x.y.z' } }))).rejects.toBe(err);
    }
  });

  it('keeps the rules of each class for a handler two controllers inherit, however often each is asked', async () => {
    const verify = vi.fn(async () => Promise.reject(new AppException(ErrorCode.InvalidToken)));
    const guard = new JwtAuthGuard(new Reflector(), { verify } as unknown as AccessTokenService, noFactors, factorsConfig);
    for (let i = 0; i < 2; i++) {
      await expect(guard.canActivate(contextOf(PublicChildController, 'shared'))).resolves.toBe(true);
      await expect(guard.canActivate(contextOf(ProtectedChildController, 'shared'))).rejects.toBeInstanceOf(AppException);
    }
    expect(verify).toHaveBeenCalledTimes(2);
  });
});
