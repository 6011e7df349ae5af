import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

/** What the outbox carries; each kind has one handler (outbox.worker.ts). */
export type OutboxKind = 'mail' | 'webhook';

export interface OutboxEntry {
  id: string;
  kind: OutboxKind;
  payload: Record<string, unknown>;
  /** Counting the attempt it was claimed for. */
  attempts: number;
  /** When its cause committed: a handler may give up on messages past an age (giveUpAfterSeconds). */
  createdAt: Date;
}

/**
 * Claims due messages for one instance: due ones are leased (made due again `lease` seconds
 * later, the time a delivery may take) in the same statement that takes them, and SKIP LOCKED
 * keeps two instances from taking the same row. A process that dies mid-delivery leaves its
 * rows to be taken again once the lease runs out.
 */
const CLAIM = `
  UPDATE outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
   WHERE id IN (SELECT id FROM outbox
                 WHERE status = 'pending' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, id
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED)
  RETURNING id::text, kind, payload, attempts, created_at AS "createdAt"`;

/** The outbox table's one writer: statements, no decisions. */
@Injectable()
export class OutboxRepository {
  constructor(private readonly database: Database) {}

  /** Inside Database.transaction, it commits with its cause or not at all. */
  async enqueue(kind: OutboxKind, payload: object, userId: string | null = null): Promise<void> {
    await this.database.query('INSERT INTO outbox (kind, user_id, payload) VALUES ($1, $2, $3)', [kind, userId, JSON.stringify(payload)]);
  }

  claim(limit: number, leaseSeconds: number): Promise<OutboxEntry[]> {
    return this.database.query<OutboxEntry>(CLAIM, [limit, leaseSeconds]);
  }

  /** Delivered: the row stays as a record, without the body (a mail's link, its text). */
  async delivered(id: string, keep: object): Promise<void> {
    await this.database.query(`UPDATE outbox SET status = 'sent', sent_at = now(), payload = $2, last_error = NULL WHERE id = $1`, [
      id,
      JSON.stringify(keep),
    ]);
  }

  /** Not delivered: due again in `delaySeconds`, or given up (`dead`) when it never can be. */
  async failed(id: string, error: string, delaySeconds: number, dead: boolean): Promise<void> {
    await this.database.query(
      `UPDATE outbox SET status = CASE WHEN $4 THEN 'dead' ELSE 'pending' END,
                         next_attempt_at = now() + make_interval(secs => $3), last_error = $2
        WHERE id = $1`,
      [id, error.slice(0, 500), delaySeconds, dead],
    );
  }

  /** Up to `limit` delivered or dead messages of `kind` written before `before`: how many went. */
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
