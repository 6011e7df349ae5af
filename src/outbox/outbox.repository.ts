import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

export type OutboxKind = 'mail' | 'webhook';

export interface OutboxEntry {
  id: string;
  kind: OutboxKind;
  payload: Record<string, unknown>;
  attempts: number;
  createdAt: Date;
  lane: string;
}

export interface Delivered {
  id: string;
  keep: object;
}

/** A message's destination, read only while claiming: all mail shares one SMTP server. */
const LANE = `CASE WHEN kind = 'webhook' THEN 'webhook:' || (payload->>'endpointId') ELSE kind END`;

// SKIP LOCKED: one instance a row. The lease lets another instance take it when this one dies mid-delivery.
const CLAIM = {
  name: 'outbox-claim',
  text: `
  UPDATE outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $4)
   WHERE id IN (SELECT id FROM outbox
                 WHERE kind = $1 AND status = 'pending' AND next_attempt_at <= now() AND ${LANE} <> ALL($2::text[])
                 ORDER BY next_attempt_at, id
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED)
  RETURNING id::text, kind, payload, attempts, created_at AS "createdAt", ${LANE} AS lane`,
};

/** The outbox table's one writer: statements, no decisions. */
@Injectable()
export class OutboxRepository {
  constructor(private readonly database: Database) {}

  /** Inside Database.transaction, it commits with its cause or not at all. */
  async enqueue(kind: OutboxKind, payload: object, userId: string | null = null): Promise<void> {
    await this.database.query('INSERT INTO outbox (kind, user_id, payload) VALUES ($1, $2, $3)', [kind, userId, JSON.stringify(payload)]);
  }

  claim(kind: OutboxKind, full: string[], limit: number, leaseSeconds: number): Promise<OutboxEntry[]> {
    return this.database.query<OutboxEntry>(CLAIM, [kind, full, limit, leaseSeconds]);
  }

  async extendLease(ids: string[], leaseSeconds: number): Promise<void> {
    await this.database.query(`UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2) WHERE id = ANY($1::bigint[]) AND status = 'pending'`, [
      ids,
      leaseSeconds,
    ]);
  }

  // The body goes: a mail's link must not outlive its delivery.
  async delivered(messages: Delivered[]): Promise<void> {
    await this.database.query(
      `UPDATE outbox o SET status = 'sent', sent_at = now(), payload = d.keep, last_error = NULL
         FROM unnest($1::bigint[], $2::jsonb[]) AS d(id, keep) WHERE o.id = d.id`,
      [messages.map((m) => m.id), messages.map((m) => JSON.stringify(m.keep))],
    );
  }

  /** `unknown`: it may have been delivered, so it waits for an operator, never a retry. */
  async failed(id: string, error: string, delaySeconds: number, status: 'pending' | 'dead' | 'unknown'): Promise<void> {
    await this.database.query(
      `UPDATE outbox SET status = $4, next_attempt_at = now() + make_interval(secs => $3), last_error = $2
        WHERE id = $1`,
      [id, error.slice(0, 500), delaySeconds, status],
    );
  }

  async counts(kind: OutboxKind): Promise<Record<string, number>> {
    const rows = await this.database.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM outbox WHERE kind = $1 AND status <> 'sent' GROUP BY status`,
      [kind],
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async purge(kind: OutboxKind, before: Date, limit: number): Promise<number> {
    const rows = await this.database.query(
      `DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE kind = $1 AND status IN ('sent', 'dead') AND created_at < $2 ORDER BY id LIMIT $3) RETURNING 1`,
      [kind, before, limit],
    );
    return rows.length;
  }

  /** A deleted account's messages, whatever their state: they hold its address. */
  async deleteForUser(userId: string): Promise<void> {
    await this.database.query('DELETE FROM outbox WHERE user_id = $1', [userId]);
  }
}
