import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The claim's index: due rows of one kind in the order they are taken, pending rows only, so that
 * a claim reads what it takes and stops (the sent rows, which pile up, are not in it). Replaces
 * (status, next_attempt_at), which only the claim used. Status 'unknown' (a mail handed over
 * without an answer, held) needs no change: status is free text.
 */
export class OutboxDelivery1767000000001 implements MigrationInterface {
  name = 'OutboxDelivery1767000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "IDX_outbox_due" ON "outbox" ("kind", "next_attempt_at", "id") WHERE "status" = 'pending'`);
    await q.query(`DROP INDEX "IDX_outbox_status_next_attempt_at"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "IDX_outbox_status_next_attempt_at" ON "outbox" ("status", "next_attempt_at")`);
    await q.query(`DROP INDEX "IDX_outbox_due"`);
  }
}
