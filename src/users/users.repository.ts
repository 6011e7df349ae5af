import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';
import { normalizeEmail } from './email.js';

/** The one writer of `users`. No app logic: statements only. */
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

  async findForLogin(email: string): Promise<{ id: string; passwordHash: string } | null> {
    const [user] = await this.database.query<{ id: string; passwordHash: string }>(
      'SELECT id, password_hash AS "passwordHash" FROM users WHERE email = $1',
      [normalizeEmail(email)],
    );
    return user ?? null;
  }

  /** Null when the user is gone. */
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
}
