import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

/** The one writer of `mfa_recovery_codes`; no app logic. */
@Injectable()
export class RecoveryCodesRepository {
  constructor(private readonly database: Database) {}

  /** The old codes go in the same statement: a set is replaced whole. */
  async replace(userId: string, hashes: readonly Buffer[]): Promise<void> {
    await this.database.query(
      `WITH gone AS (DELETE FROM mfa_recovery_codes WHERE user_id = $1)
       INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])`,
      [userId, hashes],
    );
  }

  /** True for exactly one of any number of simultaneous uses of one code. */
  async use(userId: string, hash: Buffer): Promise<boolean> {
    const rows = await this.database.query(
      `UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING 1`,
      [userId, hash],
    );
    return rows.length === 1;
  }

  async remaining(userId: string): Promise<number> {
    const [row] = await this.database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL`,
      [userId],
    );
    return row!.n;
  }

  async deleteAll(userId: string): Promise<void> {
    await this.database.query(`DELETE FROM mfa_recovery_codes WHERE user_id = $1`, [userId]);
  }
}
