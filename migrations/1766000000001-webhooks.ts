import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where session events are posted (WEBHOOK_ENDPOINTS), one row an endpoint URL: its fan-out
 * cursor and whether it is disabled. The secrets stay in the configuration, never here.
 */
export class Webhooks1766000000001 implements MigrationInterface {
  name = 'Webhooks1766000000001';

  async up(q: QueryRunner): Promise<void> {
    // last_event_id: the newest session event already queued in the outbox for this endpoint.
    // seen_at: when an instance last ran with the endpoint configured (an endpoint no instance
    // has any more is recognised by it, see webhook-endpoints.ts).
    await q.query(`
      CREATE TABLE "webhook_endpoints" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "url" varchar(2048) NOT NULL,
        "disabled_at" timestamptz,
        "disabled_reason" varchar(200),
        "last_event_id" bigint NOT NULL,
        "seen_at" timestamptz NOT NULL DEFAULT now(),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_webhook_endpoints" PRIMARY KEY ("id"),
        CONSTRAINT "UQ_webhook_endpoints_url" UNIQUE ("url")
      )`);
    // The operator API counts and lists an endpoint's deliveries by their state.
    await q.query(`CREATE INDEX "IDX_outbox_webhook_endpoint" ON "outbox" (("payload"->>'endpointId'), "status") WHERE "kind" = 'webhook'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "IDX_outbox_webhook_endpoint"`);
    await q.query(`DELETE FROM "outbox" WHERE "kind" = 'webhook'`);
    await q.query(`DROP TABLE "webhook_endpoints"`);
  }
}
