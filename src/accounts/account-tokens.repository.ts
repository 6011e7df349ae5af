import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';
import type { TokenPurpose } from './account-token.js';

/** The one writer of `account_tokens`; no app logic. */
@Injectable()
export class AccountTokensRepository {
  constructor(private readonly database: Database) {}

  /** Voids the user's older unused tokens of the same purpose. */
  async issue(userId: string, purpose: TokenPurpose, hash: Buffer, ttlSeconds: number): Promise<void> {
    await this.database.query('UPDATE account_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL', [userId, purpose]);
    await this.database.query(
      'INSERT INTO account_tokens (user_id, purpose, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))',
      [userId, purpose, hash, ttlSeconds],
    );
  }

  async isLive(purpose: TokenPurpose, hash: Buffer): Promise<boolean> {
    const rows = await this.database.query(
      'SELECT 1 FROM account_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()',
      [hash, purpose],
    );
    return rows.length > 0;
  }

  /** One statement, so that of two simultaneous uses exactly one gets the user. */
  async spend(purpose: TokenPurpose, hash: Buffer): Promise<string | undefined> {
    const [row] = await this.database.query<{ userId: string }>(
      `UPDATE account_tokens SET used_at = now()
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING user_id AS "userId"`,
      [hash, purpose],
    );
    return row?.userId;
  }
}
