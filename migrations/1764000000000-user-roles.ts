import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Roles of a user, read by the session lookup of every request: none until granted. */
export class UserRoles1764000000000 implements MigrationInterface {
  name = 'UserRoles1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" ADD COLUMN "roles" text[] NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" DROP COLUMN "roles"`);
  }
}
