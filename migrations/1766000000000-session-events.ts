import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What other services learn of a session's end: the events, and on sessions what an event
 * carries (a version that grows with every change, and how long its access tokens can live).
 */
export class SessionEvents1766000000000 implements MigrationInterface {
  name = 'SessionEvents1766000000000';

  async up(q: QueryRunner): Promise<void> {
    // Sessions opened before this migration have no recorded token expiry: their events fall
    // back to the session's own end, which no token outlives.
    await q.query(`ALTER TABLE "sessions" ADD COLUMN "version" integer NOT NULL DEFAULT 1, ADD COLUMN "access_expires_at" timestamptz`);
    // Ids are taken under a lock held to commit (see session-events.repository.ts): in commit
    // order, so a reader resuming after an id misses nothing. No foreign keys: events outlive
    // the rows of sessions that retention deletes.
    await q.query(`
      CREATE TABLE "session_events" (
        "id" bigserial NOT NULL,
        "session_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "reason" varchar(32) NOT NULL,
        "version" integer NOT NULL,
        "deny_until" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_session_events" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "IDX_session_events_deny_until" ON "session_events" ("deny_until")`);
    await q.query(`CREATE INDEX "IDX_session_events_created_at" ON "session_events" ("created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "session_events"`);
    await q.query(`ALTER TABLE "sessions" DROP COLUMN "access_expires_at", DROP COLUMN "version"`);
  }
}
