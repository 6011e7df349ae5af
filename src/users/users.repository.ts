import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';
import { normalizeEmail } from './email.js';

export interface AdminUserView {
  id: string;
  email: string;
  createdAt: Date;
  emailVerified: boolean;
  lockedAt: Date | null;
  roles: string[];
}

export interface LoginUser {
  id: string;
  passwordHash: string;
  emailVerified: boolean;
  locked: boolean;
  /** Read with the hash: a session opens only under it (SessionsService.open). */
  sessionEpoch: number;
}

/** The one writer of `users`; no app logic. */
@Injectable()
export class UsersRepository {
  constructor(private readonly database: Database) {}

  /** A duplicate email throws PostgreSQL's unique violation (see isUniqueViolation). */
  async create(email: string, passwordHash: string): Promise<{ id: string; email: string }> {
    const [user] = await this.database.query<{ id: string; email: string }>(
      'INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id, email',
      [normalizeEmail(email), passwordHash],
    );
    return user!;
  }

  async findForLogin(email: string): Promise<LoginUser | null> {
    const [user] = await this.database.query<LoginUser>(
      `SELECT id, password_hash AS "passwordHash", email_verified_at IS NOT NULL AS "emailVerified", locked_at IS NOT NULL AS locked,
              session_epoch AS "sessionEpoch"
         FROM users WHERE email = $1`,
      [normalizeEmail(email)],
    );
    return user ?? null;
  }

  async passwordHashOf(id: string): Promise<string | null> {
    const [user] = await this.database.query<{ passwordHash: string }>(
      'SELECT password_hash AS "passwordHash" FROM users WHERE id = $1',
      [id],
    );
    return user?.passwordHash ?? null;
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<void> {
    await this.database.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash]);
  }

  /** Holds the row locked until commit: a login checked under the old epoch opens nothing. */
  async advanceSessionEpoch(id: string): Promise<void> {
    await this.database.query('UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1', [id]);
  }

  async contactOf(id: string): Promise<{ email: string; emailVerified: boolean } | null> {
    const [user] = await this.database.query<{ email: string; emailVerified: boolean }>(
      'SELECT email, email_verified_at IS NOT NULL AS "emailVerified" FROM users WHERE id = $1',
      [id],
    );
    return user ?? null;
  }

  async findIdByEmail(email: string): Promise<string | null> {
    const [user] = await this.database.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [normalizeEmail(email)]);
    return user?.id ?? null;
  }

  /** Whether it was unverified until now. */
  async markEmailVerified(id: string): Promise<boolean> {
    const rows = await this.database.query('UPDATE users SET email_verified_at = now() WHERE id = $1 AND email_verified_at IS NULL RETURNING id', [id]);
    return rows.length === 1;
  }

  async find(emailPrefix: string | undefined, limit: number): Promise<AdminUserView[]> {
    return this.database.query<AdminUserView>(
      `SELECT id, email, created_at AS "createdAt", email_verified_at IS NOT NULL AS "emailVerified", locked_at AS "lockedAt", roles
         FROM users WHERE $1::text IS NULL OR starts_with(email, $1)
        ORDER BY created_at DESC, id DESC LIMIT $2`,
      [emailPrefix === undefined ? null : normalizeEmail(emailPrefix), limit],
    );
  }

  async exists(id: string): Promise<boolean> {
    return (await this.database.query('SELECT 1 FROM users WHERE id = $1', [id])).length === 1;
  }

  async setLocked(id: string, locked: boolean): Promise<boolean> {
    const rows = await this.database.query(`UPDATE users SET locked_at = CASE WHEN $2 THEN coalesce(locked_at, now()) END WHERE id = $1 RETURNING id`, [id, locked]);
    return rows.length === 1;
  }

  async setRoles(id: string, roles: string[]): Promise<boolean> {
    const rows = await this.database.query('UPDATE users SET roles = $2 WHERE id = $1 RETURNING id', [id, roles]);
    return rows.length === 1;
  }

  /** Sessions and tokens go with it, by their foreign keys. */
  async delete(id: string): Promise<void> {
    await this.database.query('DELETE FROM users WHERE id = $1', [id]);
  }
}
