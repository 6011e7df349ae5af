import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A user's session epoch: advanced by every act that ends all (or all other) sessions of the
 * user. A login reads it with the password hash and opens its session only if it is unchanged,
 * so a login whose password check began before such an act never yields a live session.
 */
export class SessionEpoch1767000000000 implements MigrationInterface {
  name = 'SessionEpoch1767000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" ADD COLUMN "session_epoch" integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" DROP COLUMN "session_epoch"`);
  }
}
