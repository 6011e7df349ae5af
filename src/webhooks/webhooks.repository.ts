import { Injectable } from '@nestjs/common';
import { Database } from '../database/database.js';

export interface EndpointState {
  id: string;
  url: string;
  disabledAt: Date | null;
  disabledReason: string | null;
  unseenSeconds: number;
}

export interface EndpointView {
  id: string;
  url: string;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdAt: Date;
  pending: number;
  dead: number;
}

export interface DeliveryView {
  id: string;
  status: 'pending' | 'dead';
  eventId: string;
  endpointId: string;
  url: string | null;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  nextAttemptAt: Date | null;
}

const NEWEST_EVENT = '(SELECT coalesce(max(id), 0) FROM session_events)';

const REGISTER = `
  INSERT INTO webhook_endpoints (url, last_event_id)
  SELECT url, ${NEWEST_EVENT} FROM unnest($1::text[]) AS url
  ON CONFLICT (url) DO UPDATE SET seen_at = now()`;

// SKIP LOCKED: one instance an endpoint. Ids in commit order, so no event commits below a cursor; created_at is the event's, so the 24 hours count from it.
const FAN_OUT = `
  WITH endpoints AS (
    SELECT id, last_event_id FROM webhook_endpoints
     WHERE url = ANY($1::text[]) AND disabled_at IS NULL
     FOR UPDATE SKIP LOCKED
  ), due AS (
    SELECT n.id AS endpoint_id, e.id AS event_id, e.created_at
      FROM endpoints n
     CROSS JOIN LATERAL (SELECT id, created_at FROM session_events WHERE id > n.last_event_id ORDER BY id LIMIT $2) e
  ), queued AS (
    INSERT INTO outbox (kind, payload, created_at)
    SELECT 'webhook', jsonb_build_object('eventId', event_id::text, 'endpointId', endpoint_id), created_at
      FROM due ORDER BY event_id, endpoint_id
    RETURNING 1
  ), advanced AS (
    UPDATE webhook_endpoints w SET last_event_id = d.last
      FROM (SELECT endpoint_id, max(event_id) AS last, count(*) AS n FROM due GROUP BY endpoint_id) d
     WHERE w.id = d.endpoint_id
    RETURNING d.n
  )
  SELECT (SELECT count(*) FROM queued)::int AS queued, coalesce((SELECT max(n) FROM advanced) >= $2, false) AS full`;

const PENDING_OF = (status: string) =>
  `(SELECT count(*)::int FROM outbox o WHERE o.kind = 'webhook' AND o.payload->>'endpointId' = w.id::text AND o.status = '${status}')`;

/** Also writes outbox rows in the fan-out statement, so a cursor never moves without its deliveries. */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly database: Database) {}

  async register(urls: string[]): Promise<void> {
    await this.database.query(REGISTER, [urls]);
  }

  async touch(urls: string[]): Promise<void> {
    await this.database.query('UPDATE webhook_endpoints SET seen_at = now() WHERE url = ANY($1::text[])', [urls]);
  }

  async fanOut(urls: string[], perEndpoint: number): Promise<{ queued: number; full: boolean }> {
    const [row] = await this.database.query<{ queued: number; full: boolean }>(FAN_OUT, [urls, perEndpoint]);
    return row!;
  }

  endpoints(ids: string[]): Promise<EndpointState[]> {
    return this.database.query<EndpointState>(
      `SELECT id, url, disabled_at AS "disabledAt", disabled_reason AS "disabledReason",
              extract(epoch FROM now() - seen_at)::float8 AS "unseenSeconds"
         FROM webhook_endpoints WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  }
  async disable(id: string, reason: string): Promise<void> {
    await this.database.query('UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2 WHERE id = $1 AND disabled_at IS NULL', [id, reason.slice(0, 200)]);
  }

  /** A disabled endpoint resumes after the newest event, like a new one; an enabled one keeps its cursor. */
  async enable(id: string): Promise<{ url: string; wasDisabled: boolean } | undefined> {
    const [row] = await this.database.query<{ url: string; wasDisabled: boolean }>(
      `WITH before AS (SELECT id, disabled_at FROM webhook_endpoints WHERE id = $1 FOR UPDATE)
       UPDATE webhook_endpoints w
          SET disabled_at = NULL, disabled_reason = NULL,
              last_event_id = CASE WHEN before.disabled_at IS NULL THEN w.last_event_id ELSE ${NEWEST_EVENT} END
         FROM before WHERE w.id = before.id
       RETURNING w.url, before.disabled_at IS NOT NULL AS "wasDisabled"`,
      [id],
    );
    return row;
  }

  list(): Promise<EndpointView[]> {
    return this.database.query<EndpointView>(
      `SELECT w.id, w.url, w.disabled_at AS "disabledAt", w.disabled_reason AS "disabledReason", w.created_at AS "createdAt",
              ${PENDING_OF('pending')} AS pending, ${PENDING_OF('dead')} AS dead
         FROM webhook_endpoints w ORDER BY w.created_at, w.url`,
    );
  }

  deliveries(statuses: Array<'pending' | 'dead'>, before: bigint | undefined, limit: number): Promise<DeliveryView[]> {
    return this.database.query<DeliveryView>(
      `SELECT o.id::text, o.status, o.payload->>'eventId' AS "eventId", o.payload->>'endpointId' AS "endpointId", w.url,
              o.attempts, o.last_error AS "lastError", o.created_at AS "createdAt",
              CASE WHEN o.status = 'pending' THEN o.next_attempt_at END AS "nextAttemptAt"
         FROM outbox o LEFT JOIN webhook_endpoints w ON w.id::text = o.payload->>'endpointId'
        WHERE o.kind = 'webhook' AND o.status = ANY($1::text[]) AND ($2::bigint IS NULL OR o.id < $2::bigint)
        ORDER BY o.id DESC LIMIT $3`,
      [statuses, before?.toString() ?? null, limit],
    );
  }

  async backlog(): Promise<{ pending: number; dead: number }> {
    const [row] = await this.database.query<{ pending: number; dead: number }>(
      `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'dead')::int AS dead
         FROM outbox WHERE kind = 'webhook' AND status IN ('pending', 'dead')`,
    );
    return row!;
  }

  async tryLock(key: bigint): Promise<boolean> {
    const [row] = await this.database.query<{ held: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS held', [key.toString()]);
    return row!.held;
  }
}
