import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

export type FactorType = 'totp' | 'webauthn';

/** A confirmed factor as its owner sees it in the list. */
export interface ListedFactor {
  id: string;
  type: FactorType;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface TotpFactor {
  id: string;
  secret: Buffer;
  lastStep: number | null;
}

/** The one writer of `mfa_factors`; no app logic. */
@Injectable()
export class FactorsRepository {
  constructor(private readonly database: Database) {}

  /** The types of the user's confirmed factors (a pending TOTP factor protects nothing yet). */
  async activeTypesOf(userId: string): Promise<FactorType[]> {
    const rows = await this.database.query<{ type: FactorType }>(
      `SELECT DISTINCT type FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL ORDER BY type`,
      [userId],
    );
    return rows.map((r) => r.type);
  }

  /** Confirmed TOTP factors, or the one pending factor `pendingId` (not yet expired). */
  async totpFactorsOf(userId: string, pendingId?: string): Promise<TotpFactor[]> {
    const rows = await this.database.query<{ id: string; secret: Buffer; lastStep: string | null }>(
      `SELECT id, totp_secret AS secret, totp_last_step AS "lastStep" FROM mfa_factors
        WHERE user_id = $1 AND type = 'totp'
          AND ${pendingId ? `id = $2 AND confirmed_at IS NULL AND created_at > now() - interval '10 minutes'` : 'confirmed_at IS NOT NULL'}`,
      pendingId ? [userId, pendingId] : [userId],
    );
    return rows.map((r) => ({ id: r.id, secret: r.secret, lastStep: r.lastStep === null ? null : Number(r.lastStep) }));
  }

  async insertPendingTotp(userId: string, name: string, secret: Buffer): Promise<string> {
    const [row] = await this.database.query<{ id: string }>(
      `INSERT INTO mfa_factors (user_id, type, name, totp_secret) VALUES ($1, 'totp', $2, $3) RETURNING id`,
      [userId, name, secret],
    );
    return row!.id;
  }

  /** Whether it was the user's first confirmed factor; null when it is no longer a pending factor of the user. */
  async confirm(userId: string, factorId: string): Promise<{ first: boolean } | null> {
    const [row] = await this.database.query<{ first: boolean }>(
      `UPDATE mfa_factors f SET confirmed_at = now()
        WHERE f.id = $2 AND f.user_id = $1 AND f.confirmed_at IS NULL
        RETURNING NOT EXISTS (SELECT 1 FROM mfa_factors o WHERE o.user_id = $1 AND o.confirmed_at IS NOT NULL) AS first`,
      [userId, factorId],
    );
    return row ?? null;
  }

  /** Compare-and-set: true for exactly one of any number of simultaneous acceptances of a step (or of an earlier one). */
  async acceptTotpStep(factorId: string, step: number, resealed?: Buffer): Promise<boolean> {
    const rows = await this.database.query(
      `UPDATE mfa_factors SET totp_last_step = $2, last_used_at = now(), totp_secret = coalesce($3, totp_secret)
        WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)
        RETURNING id`,
      [factorId, step, resealed ?? null],
    );
    return rows.length === 1;
  }

  /** The user's confirmed factors, oldest first (a pending TOTP factor is not one yet). */
  listConfirmed(userId: string): Promise<ListedFactor[]> {
    return this.database.query<ListedFactor>(
      `SELECT id, type, name, created_at AS "createdAt", last_used_at AS "lastUsedAt" FROM mfa_factors
        WHERE user_id = $1 AND confirmed_at IS NOT NULL ORDER BY created_at, id`,
      [userId],
    );
  }

  /**
   * Deletes one confirmed factor of the user; null when there is none such. The user's confirmed
   * factors are locked first, so of two removals at once the later counts after the earlier's commit.
   */
  async removeConfirmed(userId: string, factorId: string): Promise<{ type: FactorType; remaining: number } | null> {
    const [row] = await this.database.query<{ type: FactorType; remaining: number }>(
      `WITH mine AS (SELECT id FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL ORDER BY id FOR UPDATE),
            gone AS (DELETE FROM mfa_factors f USING mine WHERE f.id = mine.id AND f.id = $2 RETURNING f.type)
       SELECT type, (SELECT count(*)::int FROM mine) - 1 AS remaining FROM gone`,
      [userId, factorId],
    );
    return row ?? null;
  }

  /** How many confirmed factors the user has, locked against a removal until this transaction ends. */
  async lockConfirmed(userId: string): Promise<number> {
    const [row] = await this.database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT id FROM mfa_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL ORDER BY id FOR SHARE) f`,
      [userId],
    );
    return row!.n;
  }

  /** Every factor of the user, pending ones included; how many. */
  async removeAll(userId: string): Promise<number> {
    const rows = await this.database.query(`DELETE FROM mfa_factors WHERE user_id = $1 RETURNING 1`, [userId]);
    return rows.length;
  }

  /** Pending TOTP factors past their 10 minutes: they can no longer be confirmed. */
  async purgeExpiredPending(limit: number): Promise<number> {
    const rows = await this.database.query(
      `DELETE FROM mfa_factors WHERE id IN (
         SELECT id FROM mfa_factors WHERE confirmed_at IS NULL AND created_at <= now() - interval '10 minutes' LIMIT $1)
       RETURNING 1`,
      [limit],
    );
    return rows.length;
  }

  /** A transaction-scoped advisory lock: the retention job's, one instance at a time. */
  async tryLock(key: bigint): Promise<boolean> {
    const [row] = await this.database.query<{ held: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS held', [key.toString()]);
    return row!.held;
  }
}
