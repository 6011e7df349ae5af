import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Emails were stored lowercased only; they are now stored NFC-normalized, then lowercased (see
 * normalizeEmail, copied here so that this migration keeps its meaning if that function changes).
 * Only non-ASCII emails can differ. An email whose normalized spelling belongs to another account
 * already is left as it is: merging two accounts is not a migration's call.
 */
const normalize = (email: string) => email.normalize('NFC').toLowerCase();

export class NormalizeEmails1763800000000 implements MigrationInterface {
  name = 'NormalizeEmails1763800000000';

  async up(q: QueryRunner): Promise<void> {
    const rows: Array<{ id: string; email: string }> = await q.query(
      `SELECT id, email FROM users WHERE email ~ '[^\\x01-\\x7f]'`,
    );
    for (const { id, email } of rows) {
      const normalized = normalize(email);
      if (normalized === email) continue;
      await q.query(
        `UPDATE users SET email = $2
          WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM users WHERE email = $2)`,
        [id, normalized],
      );
    }
  }

  async down(): Promise<void> {
    // The old spelling is not kept; both spellings log in to the normalized account either way.
  }
}
