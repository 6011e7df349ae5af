import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sessions a user controls: idle and absolute timeouts, why a session ended, and its refresh
 * token (as hashes only). Rows written by the previous release keep working: `expires_at`, which
 * was their access token's expiry, becomes their absolute lifetime; the live ones count as used
 * at the upgrade, the others as last used when opened; the ones already revoked were ended by
 * logout, the only way there was. They have
 * no refresh token, so they end when their access token does, as they would have before.
 */
export class SessionControl1763900000000 implements MigrationInterface {
  name = 'SessionControl1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE "sessions"
        ADD COLUMN "last_used_at" timestamptz,
        ADD COLUMN "ended_reason" varchar(32),
        ADD COLUMN "refresh_token_hash" bytea,
        ADD COLUMN "previous_refresh_token_hash" bytea,
        ADD COLUMN "refresh_generation" integer NOT NULL DEFAULT 0,
        ADD COLUMN "refreshed_at" timestamptz`);
    // Live rows count as used now (when they were is unknown, and a long-lived one must not
    // idle out the moment the release changes); the others were last used when opened.
    await q.query(`
      UPDATE "sessions" SET "last_used_at" =
        CASE WHEN "revoked_at" IS NULL AND "expires_at" > now() THEN now() ELSE "created_at" END`);
    await q.query(`UPDATE "sessions" SET "ended_reason" = 'logout' WHERE "revoked_at" IS NOT NULL`);
    await q.query(`ALTER TABLE "sessions" ALTER COLUMN "last_used_at" SET DEFAULT now(), ALTER COLUMN "last_used_at" SET NOT NULL`);
    // The retention job finds expired sessions by this index (expires_at never changes). No index
    // on revoked_at, last_used_at or the refresh columns: then ending a session, recording a use
    // and rotating a refresh token are HOT updates (no index entry written), with the room that
    // a fillfactor of 90 leaves on each page; the hourly job scans for the rest.
    await q.query(`CREATE INDEX "IDX_sessions_expires_at" ON "sessions" ("expires_at")`);
    await q.query(`ALTER TABLE "sessions" SET (fillfactor = 90)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "sessions" RESET (fillfactor)`);
    await q.query(`DROP INDEX "IDX_sessions_expires_at"`);
    await q.query(`
      ALTER TABLE "sessions"
        DROP COLUMN "refreshed_at",
        DROP COLUMN "refresh_generation",
        DROP COLUMN "previous_refresh_token_hash",
        DROP COLUMN "refresh_token_hash",
        DROP COLUMN "ended_reason",
        DROP COLUMN "last_used_at"`);
  }
}
