import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

export type FactorType = 'totp' | 'webauthn';

/** A passkey as a ceremony needs it: the id the browser names, its transports. */
export interface PasskeyRef {
  credentialId: string;
  transports: string[];
}

export interface NewPasskey extends PasskeyRef {
  publicKey: Buffer;
  signCount: number;
  backupEligible: boolean;
  backedUp: boolean;
}

/** A passkey found by its credential id, with what a sign-in through it needs of its user. */
export interface StoredPasskey {
  id: string;
  userId: string;
  publicKey: Buffer;
  signCount: number;
  backupEligible: boolean;
  email: string;
  locked: boolean;
  emailVerified: boolean;
  /** Read with the passkey, before the assertion is checked: a session opens only under it. */
  sessionEpoch: number;
}

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

  /** The user's passkeys (excluded at registration, allowed for a second step). */
  async passkeysOf(userId: string): Promise<PasskeyRef[]> {
    return this.database.query<PasskeyRef>(
      `SELECT credential_id AS "credentialId", coalesce(transports, '{}') AS transports FROM mfa_factors
        WHERE user_id = $1 AND type = 'webauthn' AND confirmed_at IS NOT NULL ORDER BY created_at`,
      [userId],
    );
  }

  /** Confirmed at once (the attestation was the proof). A credential id registered before throws the unique violation. */
  async insertPasskey(userId: string, name: string, p: NewPasskey): Promise<{ id: string; first: boolean }> {
    const [row] = await this.database.query<{ id: string; first: boolean }>(
      `INSERT INTO mfa_factors (user_id, type, name, confirmed_at, credential_id, public_key, sign_count, transports, backup_eligible, backed_up)
       VALUES ($1, 'webauthn', $2, now(), $3, $4, $5, $6, $7, $8)
       RETURNING id, NOT EXISTS (SELECT 1 FROM mfa_factors o WHERE o.user_id = $1 AND o.confirmed_at IS NOT NULL) AS first`,
      [userId, name, p.credentialId, p.publicKey, p.signCount, p.transports, p.backupEligible, p.backedUp],
    );
    return row!;
  }

  async findPasskey(credentialId: string): Promise<StoredPasskey | null> {
    const [row] = await this.database.query<Omit<StoredPasskey, 'signCount'> & { signCount: string }>(
      `SELECT f.id, f.user_id AS "userId", f.public_key AS "publicKey", f.sign_count AS "signCount",
              coalesce(f.backup_eligible, false) AS "backupEligible", u.email, u.locked_at IS NOT NULL AS locked,
              u.email_verified_at IS NOT NULL AS "emailVerified", u.session_epoch AS "sessionEpoch"
         FROM mfa_factors f JOIN users u ON u.id = f.user_id
        WHERE f.credential_id = $1 AND f.type = 'webauthn' AND f.confirmed_at IS NOT NULL`,
      [credentialId],
    );
    return row ? { ...row, signCount: Number(row.signCount) } : null;
  }

  /** Compare-and-set on the counter read before the check: of simultaneous assertions with one counter, exactly one passes. */
  async acceptPasskeyUse(factorId: string, readCount: number, newCount: number, backedUp: boolean): Promise<boolean> {
    const rows = await this.database.query(
      `UPDATE mfa_factors SET sign_count = $3, backed_up = $4, last_used_at = now()
        WHERE id = $1 AND sign_count = $2
        RETURNING id`,
      [factorId, readCount, newCount, backedUp],
    );
    return rows.length === 1;
  }
}
