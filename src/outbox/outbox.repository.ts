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
  /** Its destination (LANE below): deliveries to one destination share its slots. */
  lane: string;
}

/** A lane with deliveries in flight on this instance, and how many more it may take now. */
export interface LaneRoom {
  lane: string;
  free: number;
}

/** A delivered message, and what of it the row keeps. */
export interface Delivered {
  id: string;
  keep: object;
}

/**
 * A message's destination: a webhook's endpoint, or its kind (all mail goes through one SMTP
 * server). An expression, not a column: it is read only while claiming.
 */
const LANE = `CASE WHEN kind = 'webhook' THEN 'webhook:' || (payload->>'endpointId') ELSE kind END`;

/**
 * Claims due messages for one instance, as many as it has room for, at most `perLane` (or the
 * lane's `free`) of one destination, so that a destination that hangs cannot take the slots of
 * the others. Taken rows are leased (due again `lease` seconds later; the worker extends the
 * lease while a delivery runs) in the statement that takes them, and SKIP LOCKED keeps two
 * instances from taking the same row. The due conditions are repeated where the rows are locked,
 * so a row another instance claimed meanwhile is re-checked and left. A process that dies
 * mid-delivery leaves its rows to be taken again once the lease runs out. Lanes with no room are
 * left out before the `scan` window, so a backlog of one destination does not hide the others.
 *
 * $1 lanes with deliveries in flight, $2 their free slots, $3 full lanes, $4 scan window,
 * $5 per-lane limit, $6 total limit, $7 lease seconds, $8 the kind.
 */
const CLAIM = {
  name: 'outbox-claim',
  text: `
  WITH room AS (
    SELECT * FROM unnest($1::text[], $2::int[]) AS r(lane, free)
  ), due AS (
    SELECT id, lane, row_number() OVER (PARTITION BY lane ORDER BY next_attempt_at, id) AS rank, next_attempt_at
      FROM (SELECT id, next_attempt_at, ${LANE} AS lane FROM outbox
             WHERE status = 'pending' AND next_attempt_at <= now() AND kind = $8 AND ${LANE} <> ALL($3::text[])
             ORDER BY next_attempt_at, id LIMIT $4) o
  ), taken AS (
    SELECT o.id FROM outbox o JOIN due d ON d.id = o.id LEFT JOIN room r ON r.lane = d.lane
     WHERE o.status = 'pending' AND o.next_attempt_at <= now() AND d.rank <= coalesce(r.free, $5)
     ORDER BY d.next_attempt_at, d.id LIMIT $6
     FOR UPDATE OF o SKIP LOCKED
  )
  UPDATE outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $7)
   WHERE id IN (SELECT id FROM taken)
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

  claim(kind: OutboxKind, rooms: LaneRoom[], perLane: number, limit: number, leaseSeconds: number): Promise<OutboxEntry[]> {
    const full = rooms.filter((r) => r.free <= 0).map((r) => r.lane);
    const open = rooms.filter((r) => r.free > 0);
    return this.database.query<OutboxEntry>(CLAIM, [
      open.map((r) => r.lane),
      open.map((r) => r.free),
      full,
      Math.max(limit * 4, 200),
      perLane,
      limit,
      leaseSeconds,
      kind,
    ]);
  }

  /** Still being delivered: leased `leaseSeconds` more. */
  async extendLease(ids: string[], leaseSeconds: number): Promise<void> {
    await this.database.query(`UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2) WHERE id = ANY($1::bigint[]) AND status = 'pending'`, [
      ids,
      leaseSeconds,
    ]);
  }

  /** Delivered: the rows stay as a record, without the body (a mail's link, its text). */
  async delivered(messages: Delivered[]): Promise<void> {
    await this.database.query(
      `UPDATE outbox o SET status = 'sent', sent_at = now(), payload = d.keep, last_error = NULL
         FROM unnest($1::bigint[], $2::jsonb[]) AS d(id, keep) WHERE o.id = d.id`,
      [messages.map((m) => m.id), messages.map((m) => JSON.stringify(m.keep))],
    );
  }

  /**
   * Not delivered: due again in `delaySeconds` (`pending`), given up (`dead`), or held
   * (`unknown`: it may have been delivered, so it waits for an operator rather than a retry).
   */
  async failed(id: string, error: string, delaySeconds: number, status: 'pending' | 'dead' | 'unknown'): Promise<void> {
    await this.database.query(
      `UPDATE outbox SET status = $4, next_attempt_at = now() + make_interval(secs => $3), last_error = $2
        WHERE id = $1`,
      [id, error.slice(0, 500), delaySeconds, status],
    );
  }

  /** How many messages of `kind` are in each status but `sent`. */
  async counts(kind: OutboxKind): Promise<Record<string, number>> {
    const rows = await this.database.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM outbox WHERE kind = $1 AND status <> 'sent' GROUP BY status`,
      [kind],
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
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
