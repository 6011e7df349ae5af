import { DataSource, type EntityManager, UpdateQueryBuilder } from 'typeorm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditEvent } from '../audit/audit-event.entity.js';
import { AuditService } from '../audit/audit.service.js';
import type { RequestContext } from '../common/request-context.js';
import { ENTITIES } from '../database/entities.js';
import { Session } from './session.entity.js';
import { SessionsService } from './sessions.service.js';

const USER = '3f1c2a6e-8b7d-4c1e-9a2b-5d6e7f809a1b';
const SESSION = 'a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d';
const ctx: RequestContext = { ip: '203.0.113.7', userAgent: 'vitest/4', requestId: 'req-123' };

/**
 * The UPDATE is built by a real TypeORM query builder over the real entity metadata (a DataSource
 * that never connects), so the SQL checked below is the SQL PostgreSQL would receive; only
 * execute() is replaced, answering with `affected`.
 */
let offline: DataSource;

beforeAll(async () => {
  offline = new DataSource({ type: 'postgres', entities: ENTITIES });
  await (offline as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
});
afterEach(() => {
  vi.restoreAllMocks();
});

interface Executed {
  sql: string;
  params: unknown[];
}

function stubExecute(affected: number | undefined, executed: Executed[]) {
  vi.spyOn(UpdateQueryBuilder.prototype, 'execute').mockImplementation(async function (
    this: UpdateQueryBuilder<Session>,
  ) {
    const [sql, params] = this.getQueryAndParameters();
    executed.push({ sql, params });
    return { raw: [], affected, generatedMaps: [] };
  });
}

function setup(affected: number | undefined) {
  const updates: Executed[] = [];
  stubExecute(affected, updates);
  const inserts: { target: unknown; values: Record<string, unknown> }[] = [];
  const manager = {
    createQueryBuilder: vi.fn(() => offline.createQueryBuilder()),
    insert: vi.fn(async (target: unknown, values: Record<string, unknown>) => {
      inserts.push({ target, values });
      return { identifiers: [], generatedMaps: [], raw: [] };
    }),
  } as unknown as EntityManager;
  const transaction = vi.fn(async (...args: unknown[]) => {
    const work = args[args.length - 1] as (m: EntityManager) => Promise<unknown>;
    return work(manager);
  });
  const query = vi.fn();
  const dataSource = { transaction, query } as unknown as DataSource;
  const audit = new AuditService();
  const record = vi.spyOn(audit, 'record');
  const service = new SessionsService(dataSource, audit);
  return { service, manager, transaction, query, record, updates, inserts };
}

describe('SessionsService', () => {
  describe('revoke', () => {
    it('affected 1 → true and exactly one logout audit row, in the same transaction', async () => {
      const { service, manager, transaction, record, inserts, updates } = setup(1);

      await expect(service.revoke(SESSION, USER, ctx)).resolves.toBe(true);

      expect(transaction).toHaveBeenCalledTimes(1);
      expect(updates).toHaveLength(1);
      expect(record).toHaveBeenCalledTimes(1);
      const [usedManager, entry, usedCtx] = record.mock.calls[0]!;
      expect(usedManager).toBe(manager);
      expect(entry).toMatchObject({ event: 'logout', userId: USER, sessionId: SESSION });
      expect(usedCtx).toBe(ctx);

      expect(inserts).toHaveLength(1);
      expect(inserts[0]!.target).toBe(AuditEvent);
      expect(inserts[0]!.values).toMatchObject({
        event: 'logout',
        userId: USER,
        sessionId: SESSION,
        ip: '203.0.113.7',
        userAgent: 'vitest/4',
        requestId: 'req-123',
        details: { scope: 'current' },
      });
    });

    it('affected 0 → false and no audit row', async () => {
      const { service, record, inserts, updates } = setup(0);
      await expect(service.revoke(SESSION, USER, ctx)).resolves.toBe(false);
      expect(updates).toHaveLength(1);
      expect(record).not.toHaveBeenCalled();
      expect(inserts).toHaveLength(0);
    });

    it('an unknown affected count (undefined) is not taken as a revocation', async () => {
      const { service, record } = setup(undefined);
      await expect(service.revoke(SESSION, USER, ctx)).resolves.toBe(false);
      expect(record).not.toHaveBeenCalled();
    });

    it('updates only an unrevoked session of that user, setting revoked_at', async () => {
      const { service, updates } = setup(1);
      await service.revoke(SESSION, USER, ctx);

      expect(updates).toHaveLength(1);
      const { sql, params } = updates[0]!;
      expect(sql).toMatch(/^UPDATE "sessions" SET "revoked_at" = now\(\) WHERE /);
      const where = sql.slice(sql.indexOf(' WHERE ') + 7);
      expect(where).toMatch(/"revoked_at" IS NULL/);
      expect(where).not.toMatch(/\bOR\b/i);
      const idParam = /"id" = \$(\d+)/.exec(where)?.[1];
      const userParam = /"user_id" = \$(\d+)/.exec(where)?.[1];
      expect(idParam).toBeDefined();
      expect(userParam).toBeDefined();
      expect(params[Number(idParam) - 1]).toBe(SESSION);
      expect(params[Number(userParam) - 1]).toBe(USER);
      expect(params).toHaveLength(2);
    });

    it('does not touch the database outside the transaction', async () => {
      const { service, query } = setup(1);
      await service.revoke(SESSION, USER, ctx);
      expect(query).not.toHaveBeenCalled();
    });

    it('an audit failure rejects the transaction (the revocation is rolled back with it)', async () => {
      const { service, manager } = setup(1);
      const failure = new Error('insert into audit_events failed');
      vi.mocked(manager.insert).mockRejectedValueOnce(failure);
      await expect(service.revoke(SESSION, USER, ctx)).rejects.toBe(failure);
    });

    it('a database fault propagates', async () => {
      const { service, transaction } = setup(1);
      const down = new Error('connect ECONNREFUSED');
      transaction.mockRejectedValueOnce(down);
      await expect(service.revoke(SESSION, USER, ctx)).rejects.toBe(down);
    });
  });

  describe('isActive', () => {
    it('true for one matching row; the query checks owner, revocation and expiry', async () => {
      const { service, query } = setup(1);
      query.mockResolvedValue([{ '?column?': 1 }]);
      await expect(service.isActive(SESSION, USER)).resolves.toBe(true);
      expect(query).toHaveBeenCalledTimes(1);
      const [sql, params] = query.mock.calls[0]!;
      expect(sql).toMatch(/\bid = \$1\b/);
      expect(sql).toMatch(/\buser_id = \$2\b/);
      expect(sql).toMatch(/\brevoked_at IS NULL\b/i);
      expect(sql).toMatch(/\bexpires_at > now\(\)/i);
      expect(params).toStrictEqual([SESSION, USER]);
    });

    it('false for no row', async () => {
      const { service, query } = setup(1);
      query.mockResolvedValue([]);
      await expect(service.isActive(SESSION, USER)).resolves.toBe(false);
    });

    it('a database fault propagates (never false, never true)', async () => {
      const { service, query } = setup(1);
      const down = new Error('Connection terminated unexpectedly');
      query.mockRejectedValue(down);
      await expect(service.isActive(SESSION, USER)).rejects.toBe(down);
    });
  });

  describe('create', () => {
    it('inserts an active session that expires when it is told', async () => {
      const { service, manager, inserts } = setup(1);
      Object.assign(manager, { create: vi.fn((_: unknown, values: object) => ({ ...values })) });
      const expiresAt = new Date('2031-01-01T00:00:00Z');
      const session = await service.create(manager, USER, expiresAt, ctx);

      expect(inserts).toHaveLength(1);
      expect(inserts[0]!.target).toBe(Session);
      expect(inserts[0]!.values).toBe(session);
      expect(session).toMatchObject({ userId: USER, revokedAt: null, ip: '203.0.113.7', userAgent: 'vitest/4' });
      expect(session.expiresAt).toBe(expiresAt);
    });
  });
});
