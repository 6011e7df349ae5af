import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounts that can be recovered, verified, locked: two columns on users, the single-use tokens
 * of the links sent by mail, and the outbox the mail leaves through.
 */
export class Accounts1765000000000 implements MigrationInterface {
  name = 'Accounts1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" ADD COLUMN "email_verified_at" timestamptz, ADD COLUMN "locked_at" timestamptz`);
    // Only hashes: a token is in the mail it was sent in and nowhere else.
    await q.query(`
      CREATE TABLE "account_tokens" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL,
        "purpose" varchar(32) NOT NULL,
        "token_hash" bytea NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_account_tokens" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_account_tokens_token_hash" UNIQUE ("token_hash"),
        CONSTRAINT "FK_account_tokens_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "IDX_account_tokens_user_id_purpose" ON "account_tokens" ("user_id", "purpose")`);
    // What must leave the process reliably, written in the transaction of its cause. No foreign
    // key: an account's deletion removes its pending mail itself.
    await q.query(`
      CREATE TABLE "outbox" (
        "id" bigserial NOT NULL,
        "kind" varchar(32) NOT NULL,
        "user_id" uuid,
        "payload" jsonb NOT NULL,
        "status" varchar(16) NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" timestamptz NOT NULL DEFAULT now(),
        "last_error" varchar(500),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "sent_at" timestamptz,
        CONSTRAINT "PK_outbox" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "IDX_outbox_status_next_attempt_at" ON "outbox" ("status", "next_attempt_at")`);
    await q.query(`CREATE INDEX "IDX_outbox_user_id" ON "outbox" ("user_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "outbox"`);
    await q.query(`DROP TABLE "account_tokens"`);
    await q.query(`ALTER TABLE "users" DROP COLUMN "locked_at", DROP COLUMN "email_verified_at"`);
  }
}
