import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { hashPassword } from '../users/password-hasher.js';
import { INVALID_LINK, PasswordResetService } from './password-reset.service.js';

// The hasher is what a made-up token must not reach: counted here, never run.
vi.mock('../users/password-hasher.js', () => ({ hashPassword: vi.fn(async () => 'scrypt$hash') }));

const config = { get: (name: string) => ({ PASSWORD_RESET_URL: 'http://localhost/reset', PASSWORD_RESET_TTL: 1800 })[name] };
const database = { transaction: <T>(work: () => Promise<T>) => work() };

function serviceWith(tokens: { isLive: (...args: unknown[]) => Promise<boolean>; spend: (...args: unknown[]) => Promise<string | undefined> }) {
  const users = { setPasswordHash: vi.fn(), markEmailVerified: vi.fn() };
  const sessions = { endAll: vi.fn(async () => 2) };
  const service = new PasswordResetService(config as never, database as never, users as never, tokens as never, {} as never, sessions as never, {} as never);
  return { service, users, sessions };
}

const who = { ip: '127.0.0.1', userAgent: undefined, requestId: 'r' };

describe('PasswordResetService.reset', () => {
  beforeEach(() => vi.mocked(hashPassword).mockClear());

  it('refuses a token that is not live before hashing the new password', async () => {
    const spend = vi.fn(async () => undefined);
    const { service, users } = serviceWith({ isLive: async () => false, spend });
    const refusal = await service.reset('made-up', 'new-password-123', who as never).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(AppException);
    expect(refusal).toMatchObject({ code: ErrorCode.InvalidRequest, options: { errors: [INVALID_LINK] } });
    expect(hashPassword).not.toHaveBeenCalled();
    expect(spend).not.toHaveBeenCalled();
    expect(users.setPasswordHash).not.toHaveBeenCalled();
  });

  it('hashes a live token\'s new password, then spends the token conditionally: one that was spent meanwhile is refused', async () => {
    const { service, users } = serviceWith({ isLive: async () => true, spend: async () => undefined });
    await expect(service.reset('raced', 'new-password-123', who as never)).rejects.toMatchObject({ code: ErrorCode.InvalidRequest });
    expect(hashPassword).toHaveBeenCalledTimes(1);
    expect(users.setPasswordHash).not.toHaveBeenCalled();
  });

  it('stores the hash and ends the sessions of the token\'s user', async () => {
    const { service, users, sessions } = serviceWith({ isLive: async () => true, spend: async () => 'user-1' });
    expect(await service.reset('live', 'new-password-123', who as never)).toBe(2);
    expect(users.setPasswordHash).toHaveBeenCalledWith('user-1', 'scrypt$hash');
    expect(sessions.endAll).toHaveBeenCalledWith('user-1', null, 'password_reset', who);
  });
});
