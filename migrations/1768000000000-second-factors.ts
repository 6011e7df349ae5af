import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Second factors bound to the session. A session records how it was authenticated (`amr`, RFC
 * 8176) and when a factor was last proved on it (`authenticated_at`, read for step-up). Factors,
 * recovery codes and the challenges of a sign-in in progress each get a table.
 */
export class SecondFactors1768000000000 implements MigrationInterface {
  name = 'SecondFactors1768000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "sessions" ADD COLUMN "amr" text[] NOT NULL DEFAULT '{pwd}',
                                       ADD COLUMN "authenticated_at" timestamptz NOT NULL DEFAULT now()`);
    await q.query(`UPDATE "sessions" SET "authenticated_at" = "created_at"`);

    // One table for both kinds: a factor is listed, named, used and removed alike; the columns of the other kind stay null.
    await q.query(`
      CREATE TABLE "mfa_factors" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "user_id" uuid NOT NULL,
        "type" varchar(16) NOT NULL,
        "name" varchar(64) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "confirmed_at" timestamptz,
        "last_used_at" timestamptz,
        "totp_secret" bytea,
        "totp_last_step" bigint,
        "credential_id" varchar(1400),
        "public_key" bytea,
        "sign_count" bigint,
        "transports" text[],
        "backup_eligible" boolean,
        "backed_up" boolean,
        CONSTRAINT "PK_mfa_factors" PRIMARY KEY ("id"),
        CONSTRAINT "CHK_mfa_factors_type" CHECK ("type" IN ('totp', 'webauthn')),
        CONSTRAINT "UQ_mfa_factors_credential_id" UNIQUE ("credential_id"),
        CONSTRAINT "FK_mfa_factors_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "IDX_mfa_factors_user_id" ON "mfa_factors" ("user_id")`);

    await q.query(`
      CREATE TABLE "mfa_recovery_codes" (
        "user_id" uuid NOT NULL,
        "code_hash" bytea NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "used_at" timestamptz,
        CONSTRAINT "PK_mfa_recovery_codes" PRIMARY KEY ("user_id", "code_hash"),
        CONSTRAINT "FK_mfa_recovery_codes_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )`);

    // A sign-in's second step (the mfaToken) and WebAuthn challenges: single use (deleted when used), short-lived.
    await q.query(`
      CREATE TABLE "mfa_challenges" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "kind" varchar(32) NOT NULL,
        "user_id" uuid,
        "session_id" uuid,
        "secret_hash" bytea,
        "challenge" varchar(128),
        "session_epoch" integer,
        "attempts" integer NOT NULL DEFAULT 0,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        CONSTRAINT "PK_mfa_challenges" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_mfa_challenges_secret_hash" UNIQUE ("secret_hash"),
        CONSTRAINT "UQ_mfa_challenges_challenge" UNIQUE ("challenge"),
        CONSTRAINT "FK_mfa_challenges_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE,
        CONSTRAINT "FK_mfa_challenges_session" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "IDX_mfa_challenges_expires_at" ON "mfa_challenges" ("expires_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "mfa_challenges"`);
    await q.query(`DROP TABLE "mfa_recovery_codes"`);
    await q.query(`DROP TABLE "mfa_factors"`);
    await q.query(`ALTER TABLE "sessions" DROP COLUMN "authenticated_at", DROP COLUMN "amr"`);
  }
}
